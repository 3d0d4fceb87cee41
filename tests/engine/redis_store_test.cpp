#include <doctest/doctest.h>

#include "engine/identity.hpp"
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

const TimePoint t0 = sys_days{year{2026} / March / 2} + hours(8);

Transition enroll(const std::string& lead, std::uint64_t seq = 1) {
  Transition t;
  t.lead = lead;
  t.attr_updates = {{"email", "ana@example.com"}};
  Enrollment e;
  e.seq = seq;
  t.enrollments.push_back({"welcome", std::nullopt, e});
  t.timers_to_add.push_back({TimerRef{lead, "welcome", seq}, t0 + hours(48)});
  PlannedAction action;
  action.action_id = action_id(lead, "welcome", 1, 1, "hello", 1);
  action.lead = lead;
  action.workflow = "welcome";
  action.step = "hello";
  action.kind = "email";
  action.to = "ana@example.com";
  t.actions.push_back(action);
  t.timeline.push_back({t0, lead, "welcome", "entered", {}, {}});
  return t;
}

}  // namespace

TEST_CASE("a commit writes lead, enrollment, timer, outbox entry and counters together") {
  StoreFixture f;
  CHECK(f.store.commit(enroll("L1"), "100-0", "") == CommitOutcome::committed);
  LeadSnapshot lead = f.store.load_lead("L1");
  CHECK(lead.attrs["email"] == "ana@example.com");
  REQUIRE(lead.enrollments.count("welcome"));
  CHECK(lead.enrollments["welcome"].seq == 1);
  CHECK(lead.last_stream_id == "100-0");
  CHECK(f.store.due_timers(t0 + hours(47), 10).empty());
  auto due = f.store.due_timers(t0 + hours(48), 10);
  REQUIRE(due.size() == 1);
  CHECK(due[0].lead == "L1");
  auto outbox = f.store.read_outbox(10);
  REQUIRE(outbox.size() == 1);
  CHECK(outbox[0].action.step == "hello");
  CHECK(outbox[0].partition == partition_of("L1", 4));
  const int p = partition_of("L1", 4);
  CHECK(f.redis({"HGET", fmt::format("nurture:{{{}}}:stats:welcome", p), "entered"}).text == "1");
}

TEST_CASE("a transition computed from a stale snapshot is refused (compare-and-set)") {
  StoreFixture f;
  REQUIRE(f.store.commit(enroll("L1"), "", "") == CommitOutcome::committed);
  // Someone else enrolls too, from the same empty snapshot: refused.
  CHECK(f.store.commit(enroll("L1"), "", "") == CommitOutcome::conflict);
  // A transition from the current snapshot goes through; one from the old one does not.
  LeadSnapshot lead = f.store.load_lead("L1");
  Transition next;
  next.lead = "L1";
  Enrollment advanced = lead.enrollments["welcome"];
  advanced.seq = 2;
  next.enrollments.push_back({"welcome", lead.enrollments["welcome"].pack(), advanced});
  CHECK(f.store.commit(next, "", "") == CommitOutcome::committed);
  CHECK(f.store.commit(next, "", "") == CommitOutcome::conflict);
  CHECK(f.store.read_outbox(10).size() == 1);  // the refused commits wrote nothing
}

TEST_CASE("an event applied once is a no-op the second time: by stream id and by producer id") {
  StoreFixture f;
  REQUIRE(f.store.commit(enroll("L1"), "200-5", "") == CommitOutcome::committed);
  Transition again;
  again.lead = "L1";
  again.attr_updates = {{"plan", "pro"}};
  CHECK(f.store.commit(again, "200-5", "") == CommitOutcome::duplicate);
  CHECK(f.store.commit(again, "199-9", "") == CommitOutcome::duplicate);
  CHECK(f.store.load_lead("L1").attrs.count("plan") == 0);
  CHECK(f.store.commit(again, "200-6", "evt-1") == CommitOutcome::committed);
  CHECK(f.store.commit(again, "300-0", "evt-1") == CommitOutcome::duplicate);  // same producer id, new entry
}

TEST_CASE("a refused commit does not mark the producer id as seen") {
  StoreFixture f;
  REQUIRE(f.store.commit(enroll("L1"), "", "") == CommitOutcome::committed);
  CHECK(f.store.commit(enroll("L1"), "", "evt-9") == CommitOutcome::conflict);
  Transition t;
  t.lead = "L1";
  t.attr_updates = {{"x", 1}};
  CHECK(f.store.commit(t, "", "evt-9") == CommitOutcome::committed);
}

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

TEST_CASE("timers due at one instant come in (lead, workflow) order, earliest instant first") {
  StoreFixture f;
  for (const std::string lead : {"Lc", "La", "Lb"}) {
    Transition t;
    t.lead = lead;
    t.timers_to_add.push_back({TimerRef{lead, "w2", 1}, t0});
    t.timers_to_add.push_back({TimerRef{lead, "w1", 1}, t0});
    REQUIRE(f.store.commit(t, "", "") == CommitOutcome::committed);
  }
  Transition early;
  early.lead = "Lz";
  early.timers_to_add.push_back({TimerRef{"Lz", "w1", 1}, t0 - seconds(1)});
  REQUIRE(f.store.commit(early, "", "") == CommitOutcome::committed);
  std::vector<std::string> order;
  for (const auto& timer : f.store.due_timers(t0, 100)) order.push_back(timer.lead + "/" + timer.workflow);
  CHECK(order == std::vector<std::string>{"Lz/w1", "La/w1", "La/w2", "Lb/w1", "Lb/w2", "Lc/w1", "Lc/w2"});
}

TEST_CASE("the partition count is fixed once the store is in use") {
  StoreFixture f;
  RedisStore other{f.server.connect(), RedisStoreOptions{"nurture:", 8, "test", hours(24), hours(24)}};
  CHECK_THROWS_WITH_AS(other.prepare(),
                       "this store was created with 4 partitions and nurture.yaml says 8; the count is fixed once "
                       "the store is in use (set `partitions: 4`)",
                       std::runtime_error);
}

TEST_CASE("dispatch claims: a recorded result is final, an unfinished claim is reclaimed and counted") {
  StoreFixture f;
  REQUIRE(f.store.commit(enroll("L1"), "", "") == CommitOutcome::committed);
  auto entries = f.store.read_outbox(10);
  REQUIRE(entries.size() == 1);
  CHECK(f.store.claim(entries[0]) == ClaimOutcome::claimed);
  CHECK(f.store.claim(entries[0]) == ClaimOutcome::claimed_again);  // as after a crash during the send
  f.store.record_dispatch(entries[0], DispatchOutcome::sent, "provider-1");
  CHECK(f.store.claim(entries[0]) == ClaimOutcome::already_done);
  const int p = entries[0].partition;
  CHECK(f.redis({"HGET", fmt::format("nurture:{{{}}}:stats:welcome", p), "step:hello:sent"}).text == "1");
  CHECK(f.redis({"HGET", fmt::format("nurture:{{{}}}:stats:welcome", p), "dispatch_reclaimed"}).text == "1");
  CHECK(f.redis({"XPENDING", fmt::format("nurture:{{{}}}:outbox", p), "dispatch"}).elements[0].integer == 0);
}

TEST_CASE("a retried action comes back to the outbox when due, with its attempt counted") {
  StoreFixture f;
  REQUIRE(f.store.commit(enroll("L1"), "", "") == CommitOutcome::committed);
  auto entries = f.store.read_outbox(10);
  REQUIRE(entries.size() == 1);
  REQUIRE(f.store.claim(entries[0]) == ClaimOutcome::claimed);
  f.store.schedule_retry(entries[0], t0 + seconds(30), "451 busy");
  f.store.release_due_retries(t0 + seconds(29));
  CHECK(f.store.read_outbox(10).empty());
  f.store.release_due_retries(t0 + seconds(30));
  auto again = f.store.read_outbox(10);
  REQUIRE(again.size() == 1);
  CHECK(again[0].attempt == 2);
  CHECK(again[0].action.action_id == entries[0].action.action_id);
  CHECK(f.store.claim(again[0]) == ClaimOutcome::claimed);  // a retry is not a reclaimed crash
}
