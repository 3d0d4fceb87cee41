#include <doctest/doctest.h>

#include "workflows/duration.hpp"

using namespace nurture::workflows;
using namespace std::chrono;

TEST_CASE("durations read as elapsed time in every unit of the language") {
  CHECK(parse_duration("30s") == seconds(30));
  CHECK(parse_duration("15m") == minutes(15));
  CHECK(parse_duration("2h") == hours(2));
  CHECK(parse_duration("3d") == hours(72));
  CHECK(parse_duration("1w") == hours(24 * 7));
}

TEST_CASE("durations without a number or unit, or with junk, are refused") {
  for (const char* bad : {"", "d", "2", "2x", "-1d", "1.5d", "2 d", "d2", "2dd"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_duration(bad).has_value());
  }
}

TEST_CASE("durations print in the largest whole unit") {
  CHECK(format_duration(hours(48)) == "2d");
  CHECK(format_duration(minutes(90)) == "90m");
  CHECK(format_duration(hours(24 * 14)) == "2w");
}
