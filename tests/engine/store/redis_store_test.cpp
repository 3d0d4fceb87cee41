#include <doctest/doctest.h>

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

const TimePoint t0 = sys_days{year{2026} / March / 2} + hours(8);

ClaimOutcome claim(RedisStore& store, const OutboxEntry& entry) { return store.check_and_claim({entry}).front().claim; }

LeadSnapshot empty_lead(const std::string& id) {
  LeadSnapshot lead;
  lead.id = id;
  return lead;
}

// A transition from `before` that enrolls the lead in welcome, arms a timer and plans an email.
Transition enroll(const LeadSnapshot& before, std::uint64_t seq = 1) {
  const std::string& lead = before.id;
  Transition t;
  t.expected_version = before.version;
  t.lead = before;
  t.lead.attrs["email"] = "ana@example.com";
  Enrollment e;
  e.seq = seq;
  t.lead.enrollments["welcome"] = e;
  t.timers_to_add.push_back({TimerRef{lead, "welcome", seq}, t0 + hours(48)});
  PlannedAction action;
  action.action_id = action_id(lead, "welcome", 1, 1, "hello", 1);
  action.lead = lead;
  action.workflow = "welcome";
  action.step = "hello";
  action.kind = "email";
  action.to = "ana@example.com";
  t.actions.push_back(action);
  TimelineEntry entered;
  entered.at = t0;
  entered.lead = lead;
  entered.workflow = "welcome";
  entered.kind = "entered";
  t.timeline.push_back(entered);
  t.counters.push_back({"welcome", "entered"});
  return t;
}

// A transition from `before` that only sets an attribute.
Transition set_attr(const LeadSnapshot& before, const std::string& name, nlohmann::json value) {
  Transition t;
  t.expected_version = before.version;
  t.lead = before;
  t.lead.attrs[name] = std::move(value);
  return t;
}

}  // namespace

TEST_CASE("a commit writes lead, enrollment, timer, outbox entry and counters together") {
  StoreFixture f;
  CHECK(f.store.commit(empty_lead("L1"), enroll(empty_lead("L1")), "100-0", "") == CommitOutcome::committed);
  LeadSnapshot lead = f.store.load_lead("L1");
  CHECK(lead.version == 1);
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

TEST_CASE("a transition computed from a stale snapshot is refused (compare-and-set on the lead version)") {
  StoreFixture f;
  const LeadSnapshot empty = empty_lead("L1");
  REQUIRE(f.store.commit(empty, enroll(empty), "", "") == CommitOutcome::committed);
  // Someone else enrolls too, from the same empty snapshot: refused.
  CHECK(f.store.commit(empty, enroll(empty), "", "") == CommitOutcome::conflict);
  // A transition from the current snapshot goes through; one from the old one does not.
  const LeadSnapshot current = f.store.load_lead("L1");
  CHECK(f.store.commit(current, set_attr(current, "plan", "pro"), "", "") == CommitOutcome::committed);
  CHECK(f.store.commit(current, set_attr(current, "plan", "basic"), "", "") == CommitOutcome::conflict);
  CHECK(f.store.load_lead("L1").attrs["plan"] == "pro");
  CHECK(f.store.read_outbox(10).size() == 1);  // the refused commits wrote nothing
}

TEST_CASE("fields the transition dropped are deleted from the lead hash") {
  StoreFixture f;
  const LeadSnapshot empty = empty_lead("L1");
  REQUIRE(f.store.commit(empty, set_attr(empty, "plan", "pro"), "", "") == CommitOutcome::committed);
  LeadSnapshot current = f.store.load_lead("L1");
  Transition t = set_attr(current, "x", 1);
  t.lead.attrs.erase("plan");
  t.lead.stage = "mql";
  t.lead.score = 12.5;
  t.lead.tags = {"vip"};
  REQUIRE(f.store.commit(current, t, "", "") == CommitOutcome::committed);
  LeadSnapshot after = f.store.load_lead("L1");
  CHECK(after.attrs == nlohmann::json{{"x", 1}});
  CHECK(after.stage == "mql");
  CHECK(after.score == 12.5);
  CHECK(after.tags == std::set<std::string>{"vip"});
}

TEST_CASE("an event applied once is a no-op the second time: by stream id and by producer id") {
  StoreFixture f;
  REQUIRE(f.store.commit(empty_lead("L1"), enroll(empty_lead("L1")), "200-5", "") == CommitOutcome::committed);
  LeadSnapshot current = f.store.load_lead("L1");
  CHECK(f.store.commit(current, set_attr(current, "plan", "pro"), "200-5", "") == CommitOutcome::duplicate);
  CHECK(f.store.commit(current, set_attr(current, "plan", "pro"), "199-9", "") == CommitOutcome::duplicate);
  CHECK(f.store.load_lead("L1").attrs.count("plan") == 0);
  CHECK(f.store.commit(current, set_attr(current, "plan", "pro"), "200-6", "evt-1") == CommitOutcome::committed);
  current = f.store.load_lead("L1");
  CHECK(f.store.commit(current, set_attr(current, "plan", "x"), "300-0", "evt-1") == CommitOutcome::duplicate);
}

TEST_CASE("a refused commit does not mark the producer id as seen") {
  StoreFixture f;
  const LeadSnapshot empty = empty_lead("L1");
  REQUIRE(f.store.commit(empty, enroll(empty), "", "") == CommitOutcome::committed);
  CHECK(f.store.commit(empty, enroll(empty), "", "evt-9") == CommitOutcome::conflict);
  const LeadSnapshot current = f.store.load_lead("L1");
  CHECK(f.store.commit(current, set_attr(current, "x", 1), "", "evt-9") == CommitOutcome::committed);
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
    Transition t = set_attr(empty_lead(lead), "x", 1);
    t.timers_to_add.push_back({TimerRef{lead, "w2", 1}, t0});
    t.timers_to_add.push_back({TimerRef{lead, "w1", 1}, t0});
    REQUIRE(f.store.commit(empty_lead(lead), t, "", "") == CommitOutcome::committed);
  }
  Transition early = set_attr(empty_lead("Lz"), "x", 1);
  early.timers_to_add.push_back({TimerRef{"Lz", "w1", 1}, t0 - seconds(1)});
  REQUIRE(f.store.commit(empty_lead("Lz"), early, "", "") == CommitOutcome::committed);
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

TEST_CASE("dispatch claims: a recorded result is final, an unfinished send is reclaimed and counted, a claim alone is not") {
  StoreFixture f;
  REQUIRE(f.store.commit(empty_lead("L1"), enroll(empty_lead("L1")), "", "") == CommitOutcome::committed);
  auto entries = f.store.read_outbox(10);
  REQUIRE(entries.size() == 1);
  CHECK(claim(f.store, entries[0]) == ClaimOutcome::claimed);
  // A crash after the claim but before the send: never handed to a connector, so not counted as re-sent.
  CHECK(claim(f.store, entries[0]) == ClaimOutcome::claimed);
  f.store.mark_sending({&entries[0]});
  CHECK(claim(f.store, entries[0]) == ClaimOutcome::claimed_again);  // as after a crash during the send
  f.store.record_many({DispatchRecord{&entries[0], DispatchOutcome::sent, "provider-1", t0}});
  CHECK(claim(f.store, entries[0]) == ClaimOutcome::already_done);
  const int p = entries[0].partition;
  CHECK(f.redis({"HGET", fmt::format("nurture:{{{}}}:stats:welcome", p), "step:hello:sent"}).text == "1");
  CHECK(f.redis({"HGET", fmt::format("nurture:{{{}}}:stats:welcome", p), "dispatch_reclaimed"}).text == "1");
  CHECK(f.redis({"XPENDING", fmt::format("nurture:{{{}}}:outbox", p), "dispatch"}).elements[0].integer == 0);
}

TEST_CASE("a retried action comes back to the outbox when due, with its attempt counted") {
  StoreFixture f;
  REQUIRE(f.store.commit(empty_lead("L1"), enroll(empty_lead("L1")), "", "") == CommitOutcome::committed);
  auto entries = f.store.read_outbox(10);
  REQUIRE(entries.size() == 1);
  REQUIRE(claim(f.store, entries[0]) == ClaimOutcome::claimed);
  f.store.schedule_retry(entries[0], t0 + seconds(30), "451 busy");
  f.store.release_due_retries(t0 + seconds(29));
  CHECK(f.store.read_outbox(10).empty());
  f.store.release_due_retries(t0 + seconds(30));
  auto again = f.store.read_outbox(10);
  REQUIRE(again.size() == 1);
  CHECK(again[0].attempt == 2);
  CHECK(again[0].action.action_id == entries[0].action.action_id);
  CHECK(claim(f.store, again[0]) == ClaimOutcome::claimed);  // a retry is not a reclaimed crash
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
