#include <doctest/doctest.h>

#include <set>

#include "engine/core/identity.hpp"

using namespace nurture::engine;

TEST_CASE("action ids are 32 lowercase hex digits, stable, and differ in every input") {
  const std::string id = action_id("L1", "welcome", 1, 1, "hello", 1);
  CHECK(id.size() == 32);
  CHECK(id.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(id == action_id("L1", "welcome", 1, 1, "hello", 1));
  std::set<std::string> ids = {id,
                               action_id("L2", "welcome", 1, 1, "hello", 1),
                               action_id("L1", "welcom", 1, 1, "hello", 1),
                               action_id("L1", "welcome", 2, 1, "hello", 1),
                               action_id("L1", "welcome", 1, 2, "hello", 1),
                               action_id("L1", "welcome", 1, 1, "hello2", 1),
                               action_id("L1", "welcome", 1, 1, "hello", 2)};
  CHECK(ids.size() == 7);
  // The separator keeps field boundaries: ("L1","welcome") and ("L1w","elcome") differ.
  CHECK(action_id("L1", "welcome", 1, 1, "s", 1) != action_id("L1w", "elcome", 1, 1, "s", 1));
}

TEST_CASE("an action id is the same from version to version: a dispatch record found under it stops a resend") {
  // XXH3-128 of "L1␟welcome␟1␟1␟hello␟1", canonical bytes in hex. A change here re-sends every planned action
  // after an upgrade: the ids in the outbox would no longer match their dispatch records.
  CHECK(action_id("L1", "welcome", 1, 1, "hello", 1) == "d0cfd3901d49fc8338857fdf706a6045");
  // Likewise a post's and a broadcast's: a post would be published again, a broadcast mailed twice.
  CHECK(post_action_id("spring-launch", "linkedin") == "96404df2b42d0468314f6bc938d09de4");
  CHECK(broadcast_action_id("april", "L1") == "6f95fb03b36c3d1236b447c860c4098a");
}

TEST_CASE("a lead's partition is stable and spreads leads over all partitions") {
  CHECK(partition_of("L1", 16) == partition_of("L1", 16));
  std::set<int> used;
  for (int i = 0; i < 1000; ++i) {
    const int p = partition_of("lead-" + std::to_string(i), 16);
    CHECK(p >= 0);
    CHECK(p < 16);
    used.insert(p);
  }
  CHECK(used.size() == 16);
}
