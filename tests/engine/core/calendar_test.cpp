#include <doctest/doctest.h>

#include "engine/core/calendar.hpp"
#include "engine/core/event.hpp"

using namespace nurture::engine;

namespace {
TimePoint at(const char* text) { return *parse_rfc3339(text); }
std::string show(TimePoint t) { return format_rfc3339(t); }
const nurture::workflows::DaySet every_day{true, true, true, true, true, true, true};
}  // namespace

TEST_CASE("a local time in a DST gap becomes the first instant after the gap") {
  // 2026-03-08 02:30 does not exist in New York: clocks jump from 02:00 EST to 03:00 EDT (07:00Z).
  CHECK(show(next_time_of_day(at("2026-03-08T06:00:00Z"), 2 * 60 + 30, every_day, "America/New_York")) ==
        "2026-03-08T07:00:00Z");
}

TEST_CASE("an ambiguous local time (DST fold) is its earlier instant") {
  // 2026-11-01 01:30 happens twice in New York: 05:30Z (EDT) and 06:30Z (EST).
  CHECK(show(next_time_of_day(at("2026-11-01T00:00:00Z"), 90, every_day, "America/New_York")) ==
        "2026-11-01T05:30:00Z");
}

TEST_CASE("send windows are half-open and follow the zone's days") {
  nurture::workflows::SendWindow window;
  window.days = {false, true, true, true, true, true, false};
  window.from_minute = 9 * 60;
  window.to_minute = 17 * 60;
  CHECK(in_send_window(at("2026-03-04T16:59:59Z"), window, "UTC"));
  CHECK_FALSE(in_send_window(at("2026-03-04T17:00:00Z"), window, "UTC"));
  CHECK(show(next_window_opening(at("2026-03-04T17:00:00Z"), window, "UTC")) == "2026-03-05T09:00:00Z");
  CHECK(show(next_window_opening(at("2026-03-06T17:00:00Z"), window, "UTC")) == "2026-03-09T09:00:00Z");
  CHECK(show(next_window_opening(at("2026-03-06T22:00:00Z"), window, "Asia/Tokyo")) == "2026-03-09T00:00:00Z");
}

TEST_CASE("date attributes are local midnight in the lead's zone, or an RFC 3339 time") {
  CHECK(show(*parse_date_attribute("2026-04-15", "Europe/Berlin")) == "2026-04-14T22:00:00Z");
  CHECK(show(*parse_date_attribute("2026-04-15T10:00:00Z", "Europe/Berlin")) == "2026-04-15T10:00:00Z");
  CHECK_FALSE(parse_date_attribute("next tuesday", "UTC"));
}

TEST_CASE("time zone names are checked against the IANA database") {
  CHECK(is_valid_timezone("Europe/Lisbon"));
  CHECK_FALSE(is_valid_timezone("Mars/Olympus"));
  CHECK_FALSE(is_valid_timezone(""));
}
