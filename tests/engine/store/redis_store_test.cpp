// What only the Redis store has: its key layout, the partition count it records, trimming and consumer-group
// takeover. What every store must do is in store_contract_test.cpp.

#include <doctest/doctest.h>

#include <set>
#include <thread>

#include "engine/core/identity.hpp"
#include "engine/store/redis/redis_store.hpp"
#include "tests/support/fixtures.hpp"

using namespace nurture::engine;
using namespace nurture::engine::redis;
using namespace std::chrono;
using nurture::testing::RedisServer;
using nurture::testing::TempDir;

namespace {

struct StoreFixture {
  TempDir dir;
  RedisServer server{dir / "redis"};
  RedisStore store{server.connect(), RedisStoreOptions{"nurture:", 4, "test", hours(24), hours(24)}};
  StoreFixture() { store.prepare(); }
  RedisReply redis(const Command& command) { return store.connection().command(command); }
};

}  // namespace

TEST_CASE("malformed events go to the dead-letter stream with their reason and are acknowledged") {
  StoreFixture f;
  f.store.add_event({{"type", "lead.created"}, {"lead", "L1"}});
  auto entries = f.store.read_events(10, milliseconds(0));
  REQUIRE(entries.size() == 1);
  f.store.dead_letter_event(entries[0], "missing field `x`");
  auto dead = f.redis({"XRANGE", "nurture:events:dead", "-", "+"});
  REQUIRE(dead.elements.size() == 1);
  using nurture::testing::stream_field;
  CHECK(stream_field(dead.elements[0], "reason") == "missing field `x`");
  CHECK(stream_field(dead.elements[0], "type") == "lead.created");
  CHECK(stream_field(dead.elements[0], "stream_id") == entries[0].id);
  CHECK(f.redis({"XPENDING", "nurture:events", "engine"}).elements[0].integer == 0);
}

TEST_CASE("the partition count is fixed once the store is in use") {
  StoreFixture f;
  RedisStore other{f.server.connect(), RedisStoreOptions{"nurture:", 8, "test", hours(24), hours(24)}};
  CHECK_THROWS_WITH_AS(other.prepare(),
                       "this store was created with 4 partitions and nurture.yaml says 8; the count is fixed once "
                       "the store is in use (set `partitions: 4`)",
                       std::runtime_error);
}

TEST_CASE("streams are trimmed of what the groups are done with, never of pending or new entries") {
  StoreFixture f;
  for (int i = 0; i < 5; ++i) f.store.add_event({{"type", "x"}, {"lead", "L" + std::to_string(i)}});
  auto first = f.store.read_events(3, milliseconds(0));  // delivered, 3 pending
  REQUIRE(first.size() == 3);
  f.store.ack_events({first[0], first[1]});  // 1 pending, 2 never delivered
  f.store.trim_streams();
  // Exact trimming is approximate (~) in Redis: check only what must stay.
  auto left = f.redis({"XRANGE", "nurture:events", "-", "+"});
  std::vector<std::string> ids;
  for (const auto& entry : left.elements) ids.push_back(entry.elements[0].text);
  CHECK(std::find(ids.begin(), ids.end(), first[2].id) != ids.end());
  f.store.replay_pending();  // as after a restart
  auto rest = f.store.read_events(10, milliseconds(0));
  CHECK(rest.size() == 1);  // the pending one first...
  CHECK(rest[0].id == first[2].id);
  f.store.ack_events({rest[0]});
  CHECK(f.store.read_events(10, milliseconds(0)).size() == 2);  // ...then the two never delivered
}

TEST_CASE("a fully acknowledged stream is trimmed") {
  StoreFixture f;
  for (int i = 0; i < 300; ++i) f.store.add_event({{"type", "x"}, {"lead", "L" + std::to_string(i)}});
  auto entries = f.store.read_events(1000, milliseconds(0));
  if (entries.empty()) entries = f.store.read_events(1000, milliseconds(0));
  REQUIRE(entries.size() == 300);
  f.store.ack_events(entries);
  f.redis({"CONFIG", "SET", "stream-node-max-entries", "10"});
  f.store.trim_streams();
  CHECK(f.redis({"XLEN", "nurture:events"}).integer < 300);
}

TEST_CASE("entries a dead consumer left unacknowledged are taken over by another after the idle time") {
  StoreFixture f;
  f.store.add_event({{"type", "x"}, {"lead", "L1"}});
  RedisStore dead{f.server.connect(), RedisStoreOptions{"nurture:", 4, "dead-engine", hours(24), hours(24)}};
  REQUIRE(dead.read_events(10, milliseconds(0)).size() == 1);  // given to the dead one, never acknowledged
  CHECK(f.store.read_events(10, milliseconds(0)).empty());     // not delivered twice while it may be alive
  CHECK(f.store.reclaim_events(hours(1)) == 0);                // not idle long enough
  std::this_thread::sleep_for(milliseconds(20));
  CHECK(f.store.reclaim_events(milliseconds(10)) == 1);
  auto taken = f.store.read_events(10, milliseconds(0));
  REQUIRE(taken.size() == 1);
  CHECK(taken[0].fields.at("lead") == "L1");
}

TEST_CASE("events.streams: every front-door stream is read, our producers keep a lead on one, and each stream has its own order") {
  TempDir dir;
  RedisServer server{dir / "redis"};
  RedisStoreOptions options{"nurture:", 4, "test", hours(24), hours(24)};
  options.event_streams = 3;
  RedisStore store{server.connect(), options};
  store.prepare();
  auto redis = server.connect();
  for (const char* stream : {"nurture:events", "nurture:events:1", "nurture:events:2"}) {
    REQUIRE_FALSE(redis->command({"XADD", stream, "*", "type", "lead.created", "lead", stream}).is_error());
  }
  auto entries = store.read_events(10, milliseconds(0));
  REQUIRE(entries.size() == 3);
  std::set<int> front_doors;
  for (const auto& entry : entries) {
    CHECK_FALSE(entry.from_inbox);
    CHECK(entry.stream == entry.fields.at("lead"));
    front_doors.insert(entry.front_door);
  }
  CHECK(front_doors == std::set<int>{0, 1, 2});
  store.ack_events(entries);
  CHECK(store.read_events(10, milliseconds(0)).empty());

  // emit/import/the admin API add a lead's events to one stream, the same every time.
  for (int i = 0; i < 3; ++i) store.add_event({{"type", "x"}, {"lead", "L7"}});
  int streams_with_l7 = 0;
  for (const char* stream : {"nurture:events", "nurture:events:1", "nurture:events:2"}) {
    streams_with_l7 += redis->command({"XLEN", stream}).integer == 4;
  }
  CHECK(streams_with_l7 == 1);

  // Entry ids of different streams are not compared: a lower id on stream 0 after stream 1's is still applied, and
  // each stream refuses what it applied before.
  LeadSnapshot empty;
  empty.id = "L1";
  Transition first;
  first.lead = empty;
  first.lead.attrs["a"] = 1;
  CommitRequest on_stream_1{&empty, &first, "500-0", "", false, 1};
  REQUIRE(store.commit_many({on_stream_1}) == std::vector<CommitOutcome>{CommitOutcome::committed});
  LeadSnapshot current = store.load_lead("L1");
  CHECK(redis->command({"HGET", "nurture:{" + std::to_string(partition_of("L1", 4)) + "}:lead:L1", "ev1"}).text == "500-0");
  Transition second;
  second.expected_version = current.version;
  second.lead = current;
  second.lead.attrs["b"] = 2;
  CommitRequest on_stream_0{&current, &second, "100-0", "", false, 0};
  CHECK(store.commit_many({on_stream_0}) == std::vector<CommitOutcome>{CommitOutcome::committed});
  current = store.load_lead("L1");
  Transition again = second;
  again.expected_version = current.version;
  again.lead = current;
  CommitRequest replayed{&current, &again, "400-0", "", false, 1};
  CHECK(store.commit_many({replayed}) == std::vector<CommitOutcome>{CommitOutcome::duplicate});
  CommitRequest later{&current, &again, "600-0", "", false, 1};
  CHECK(store.commit_many({later}) == std::vector<CommitOutcome>{CommitOutcome::committed});
}
