#include <doctest/doctest.h>

#include "engine/core/lead.hpp"

using namespace nurture::engine;

TEST_CASE("an enrollment packs into one short field and back") {
  Enrollment e;
  e.version = 3;
  e.step = 4;
  e.seq = 17;
  e.entered_ms = 1772438400000;
  e.status = EnrollmentStatus::waiting;
  e.number = 2;
  CHECK(e.pack() == "3,4,17,~mm8w2680,w,2");
  auto back = Enrollment::unpack(e.pack());
  REQUIRE(back);
  CHECK(back->entered_ms == 1772438400000);
  CHECK(back->pack() == e.pack());
  // As earlier versions wrote it, entered_ms in decimal.
  auto decimal = Enrollment::unpack("3,4,17,1772438400000,w,2");
  REQUIRE(decimal);
  CHECK(decimal->pack() == e.pack());

  e.visits = {{1, 2}, {4, 3}};
  CHECK(e.pack() == "3,4,17,~mm8w2680,w,2,1:2;4:3");
  auto with_visits = Enrollment::unpack(e.pack());
  REQUIRE(with_visits);
  CHECK(with_visits->visits == e.visits);
}

TEST_CASE("damaged enrollment fields are refused, not misread") {
  for (const char* bad : {"", "1,2,3", "1,2,3,4,q,1", "a,2,3,4,w,1", "1,2,3,4,w,1,oops", "1,2,3,4,w,1,2:x",
                          "1,2,3,~,w,1", "1,2,3,~z!,w,1"}) {
    CAPTURE(bad);
    CHECK_FALSE(Enrollment::unpack(bad));
  }
}

TEST_CASE("a score shows with one decimal, cut toward zero, so it never shows past a threshold it has not reached") {
  CHECK(score_shown(49.99997) == doctest::Approx(49.9));
  CHECK(score_shown(49.96) == doctest::Approx(49.9));
  CHECK(score_shown(50.0) == doctest::Approx(50.0));
  CHECK(score_shown(0.1 + 0.2) == doctest::Approx(0.3));
  CHECK(score_shown(0.3) == doctest::Approx(0.3));
  CHECK(score_shown(-4.56) == doctest::Approx(-4.5));
  CHECK(score_shown(0) == 0);
}
