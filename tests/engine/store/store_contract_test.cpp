// The Store contract, run against both stores: what the engine relies on, said through the interface alone. A
// case that passes on Redis and fails in memory (or the other way) is a store that decides differently.

#include <doctest/doctest.h>

#include <set>

#include "engine/core/identity.hpp"
#include "engine/store/memory/memory_store.hpp"
#include "engine/store/redis/redis_store.hpp"
#include "tests/support/fixtures.hpp"
#include "text/address.hpp"

using namespace nurture::engine;
using namespace std::chrono;

namespace {

const TimePoint t0 = sys_days{year{2026} / March / 2} + hours(8);

struct OnRedis {
  nurture::testing::TempDir dir;
  nurture::testing::RedisServer server{dir / "redis"};
  VirtualClock clock{t0};
  redis::RedisStore store{server.connect(), redis::RedisStoreOptions{"nurture:", 4, "test", hours(24), hours(24)}};
  OnRedis() { store.prepare(); }
};

// The same on one server, with the commit script a cluster uses in place of the native transaction.
struct OnRedisByScript {
  nurture::testing::TempDir dir;
  nurture::testing::RedisServer server{dir / "redis"};
  VirtualClock clock{t0};
  redis::RedisStore store{server.connect(), by_script()};
  OnRedisByScript() { store.prepare(); }
  static redis::RedisStoreOptions by_script() {
    redis::RedisStoreOptions options{"nurture:", 4, "test", hours(24), hours(24)};
    options.commit_by_script = true;
    return options;
  }
};

struct InMemory {
  VirtualClock clock{t0};
  memory::MemoryStore store{clock, memory::MemoryStoreOptions{4, "test", hours(24)}};
};

ClaimOutcome claim(Store& store, const OutboxEntry& entry) { return store.check_and_claim({entry}).front().claim; }

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
  action.connector = "smtp";
  action.to = "ana@example.com";
  t.actions.push_back(action);
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

// The one outbox entry an enrolled lead has.
template <typename Fixture>
OutboxEntry enrolled(Fixture& f, const std::string& lead = "L1") {
  REQUIRE(f.store.commit(empty_lead(lead), enroll(empty_lead(lead)), "", "") == CommitOutcome::committed);
  auto entries = f.store.read_outbox(10);
  REQUIRE(entries.size() == 1);
  return entries[0];
}

}  // namespace

TYPE_TO_STRING(OnRedis);
TYPE_TO_STRING(OnRedisByScript);
TYPE_TO_STRING(InMemory);
#define STORES OnRedis, OnRedisByScript, InMemory

TEST_CASE_TEMPLATE("store: a commit writes lead, enrollment, timer, outbox entry and counters together", F, STORES) {
  F f;
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
  CHECK(due[0].due == t0 + hours(48));
  CHECK(f.store.next_timer_due() == t0 + hours(48));
  auto outbox = f.store.read_outbox(10);
  REQUIRE(outbox.size() == 1);
  CHECK(outbox[0].action.step == "hello");
  CHECK(outbox[0].action.to == "ana@example.com");
  CHECK(outbox[0].attempt == 1);
  CHECK(outbox[0].partition == partition_of("L1", 4));
  CHECK(f.store.workflow_counters("welcome") == std::map<std::string, long>{{"entered", 1}});
  CHECK(f.store.load_leads({"L2", "L1"})[1].version == 1);
  CHECK(f.store.load_leads({"L2", "L1"})[0].version == 0);  // a lead never seen: empty, version 0
}

TEST_CASE_TEMPLATE("store: a transition computed from a stale snapshot is refused (compare-and-set)", F, STORES) {
  F f;
  const LeadSnapshot empty = empty_lead("L1");
  REQUIRE(f.store.commit(empty, enroll(empty), "", "") == CommitOutcome::committed);
  CHECK(f.store.commit(empty, enroll(empty), "", "") == CommitOutcome::conflict);
  const LeadSnapshot current = f.store.load_lead("L1");
  CHECK(f.store.commit(current, set_attr(current, "plan", "pro"), "", "") == CommitOutcome::committed);
  CHECK(f.store.commit(current, set_attr(current, "plan", "basic"), "", "") == CommitOutcome::conflict);
  CHECK(f.store.load_lead("L1").attrs["plan"] == "pro");
  CHECK(f.store.read_outbox(10).size() == 1);  // the refused commits wrote nothing
  CHECK(f.store.workflow_counters("welcome")["entered"] == 1);
}

TEST_CASE_TEMPLATE("store: what a transition dropped is gone from the lead", F, STORES) {
  F f;
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

TEST_CASE_TEMPLATE("store: an event applied once is a no-op the second time, by stream id and by producer id", F,
                   STORES) {
  F f;
  REQUIRE(f.store.commit(empty_lead("L1"), enroll(empty_lead("L1")), "200-5", "") == CommitOutcome::committed);
  LeadSnapshot current = f.store.load_lead("L1");
  CHECK(f.store.commit(current, set_attr(current, "plan", "pro"), "200-5", "") == CommitOutcome::duplicate);
  CHECK(f.store.commit(current, set_attr(current, "plan", "pro"), "199-9", "") == CommitOutcome::duplicate);
  CHECK(f.store.load_lead("L1").attrs.count("plan") == 0);
  CHECK(f.store.commit(current, set_attr(current, "plan", "pro"), "200-6", "evt-1") == CommitOutcome::committed);
  current = f.store.load_lead("L1");
  CHECK(f.store.commit(current, set_attr(current, "plan", "x"), "300-0", "evt-1") == CommitOutcome::duplicate);
  // An inbox entry has an order of its own: its id is not compared with the front door's.
  CommitRequest from_inbox{&current, nullptr, "1-0", "", true};
  const Transition t = set_attr(current, "plan", "y");
  from_inbox.transition = &t;
  CHECK(f.store.commit_many({from_inbox}) == std::vector<CommitOutcome>{CommitOutcome::committed});
}

TEST_CASE_TEMPLATE("store: a refused commit does not mark the producer id as seen", F, STORES) {
  F f;
  const LeadSnapshot empty = empty_lead("L1");
  REQUIRE(f.store.commit(empty, enroll(empty), "", "") == CommitOutcome::committed);
  CHECK(f.store.commit(empty, enroll(empty), "", "evt-9") == CommitOutcome::conflict);
  const LeadSnapshot current = f.store.load_lead("L1");
  CHECK(f.store.commit(current, set_attr(current, "x", 1), "", "evt-9") == CommitOutcome::committed);
}

TEST_CASE_TEMPLATE("store: many commits at once, each atomic on its own, outcomes in order", F, STORES) {
  F f;
  REQUIRE(f.store.commit(empty_lead("L2"), set_attr(empty_lead("L2"), "x", 1), "", "") == CommitOutcome::committed);
  const LeadSnapshot l1 = empty_lead("L1"), l2 = empty_lead("L2"), l3 = empty_lead("L3");
  const Transition t1 = enroll(l1), t2 = set_attr(l2, "x", 2), t3 = enroll(l3);
  const auto outcomes = f.store.commit_many({{&l1, &t1}, {&l2, &t2}, {&l3, &t3}});
  CHECK(outcomes == std::vector<CommitOutcome>{CommitOutcome::committed, CommitOutcome::conflict,
                                               CommitOutcome::committed});
  CHECK(f.store.load_lead("L2").attrs["x"] == 1);
  CHECK(f.store.read_outbox(10).size() == 2);
}

TEST_CASE_TEMPLATE("store: timers due at one instant come in (lead, workflow) order, earliest first", F, STORES) {
  F f;
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
  // A timer removed by a later transition is gone; one set again moves.
  LeadSnapshot la = f.store.load_lead("La");
  Transition move = set_attr(la, "y", 1);
  move.timers_to_remove.push_back(TimerRef{"La", "w1", 1});
  move.timers_to_add.push_back({TimerRef{"La", "w2", 1}, t0 + hours(1)});
  REQUIRE(f.store.commit(la, move, "", "") == CommitOutcome::committed);
  order.clear();
  for (const auto& timer : f.store.due_timers(t0, 100)) order.push_back(timer.lead + "/" + timer.workflow);
  CHECK(order == std::vector<std::string>{"Lz/w1", "Lb/w1", "Lb/w2", "Lc/w1", "Lc/w2"});
  CHECK(f.store.timer_due(TimerRef{"La", "w2", 1}) == t0 + hours(1));
  CHECK_FALSE(f.store.timer_due(TimerRef{"La", "w1", 1}));
  // A timer is (lead, workflow, seq): another seq of the same workflow is another timer.
  la = f.store.load_lead("La");
  Transition again = set_attr(la, "z", 1);
  again.timers_to_add.push_back({TimerRef{"La", "w2", 2}, t0 + hours(2)});
  REQUIRE(f.store.commit(la, again, "", "") == CommitOutcome::committed);
  CHECK(f.store.timer_due(TimerRef{"La", "w2", 1}) == t0 + hours(1));
  CHECK(f.store.timer_due(TimerRef{"La", "w2", 2}) == t0 + hours(2));
}

TEST_CASE_TEMPLATE("store: events are pending until acknowledged, and come back first after a failure", F, STORES) {
  F f;
  for (int i = 0; i < 4; ++i) f.store.add_event({{"type", "x"}, {"lead", "L" + std::to_string(i)}});
  auto first = f.store.read_events(3, milliseconds(0));
  REQUIRE(first.size() == 3);
  CHECK_FALSE(first[0].from_inbox);
  CHECK(first[0].fields.at("lead") == "L0");
  f.store.ack_events({first[0], first[1]});
  f.store.replay_pending();  // as after a failure mid-batch
  auto again = f.store.read_events(10, milliseconds(0));
  REQUIRE(again.size() == 1);
  CHECK(again[0].id == first[2].id);
  f.store.ack_events(again);
  auto rest = f.store.read_events(10, milliseconds(0));
  REQUIRE(rest.size() == 1);
  CHECK(rest[0].fields.at("lead") == "L3");
  f.store.dead_letter_event(rest[0], "missing field `x`");  // acknowledged with it
  f.store.replay_pending();
  CHECK(f.store.read_events(10, milliseconds(0)).empty());
}

TEST_CASE_TEMPLATE("store: isolated, pending entries come back one at a time with their deliveries counted", F,
                   STORES) {
  F f;
  f.store.add_event({{"type", "x"}, {"lead", "L1"}});
  f.store.add_event({{"type", "x"}, {"lead", "L2"}});
  REQUIRE(f.store.read_events(10, milliseconds(0)).size() == 2);
  f.store.isolate_pending();
  auto one = f.store.read_events(10, milliseconds(0));
  REQUIRE(one.size() == 1);
  CHECK(one[0].earlier_deliveries == 1);
  auto same = f.store.read_events(10, milliseconds(0));
  REQUIRE(same.size() == 1);
  CHECK(same[0].id == one[0].id);
  CHECK(same[0].earlier_deliveries == 2);
  f.store.ack_events(same);
  auto next = f.store.read_events(10, milliseconds(0));
  REQUIRE(next.size() == 1);
  CHECK(next[0].id != one[0].id);
}

TEST_CASE_TEMPLATE("store: dispatch claims: a result is final, an unfinished send is reclaimed and counted", F,
                   STORES) {
  F f;
  const OutboxEntry entry = enrolled(f);
  CHECK(claim(f.store, entry) == ClaimOutcome::claimed);
  CHECK(claim(f.store, entry) == ClaimOutcome::claimed);  // claimed, never handed over: not a re-send
  f.store.mark_sending({&entry});
  CHECK(claim(f.store, entry) == ClaimOutcome::claimed_again);  // as after a crash during the send
  f.store.record_many({DispatchRecord{&entry, DispatchOutcome::sent, "provider-1", t0}});
  CHECK(claim(f.store, entry) == ClaimOutcome::already_done);
  const auto counters = f.store.workflow_counters("welcome");
  CHECK(counters.at("step:hello:sent") == 1);
  CHECK(counters.at("dispatch_reclaimed") == 1);
  f.store.replay_pending();
  CHECK(f.store.read_outbox(10).empty());  // acknowledged with its result
}

TEST_CASE_TEMPLATE("store: a result raises its event in the lead's inbox, once, when something listens", F, STORES) {
  F f;
  const OutboxEntry entry = enrolled(f);
  REQUIRE(claim(f.store, entry) == ClaimOutcome::claimed);
  DispatchRecord sent{&entry, DispatchOutcome::sent, "provider-1", t0 + seconds(5)};
  sent.remember_lead = true;
  f.store.record_many({sent});
  auto raised = f.store.read_events(10, milliseconds(0));
  REQUIRE(raised.size() == 1);
  CHECK(raised[0].from_inbox);
  CHECK(raised[0].fields.at("type") == "email.sent");
  CHECK(raised[0].fields.at("lead") == "L1");
  CHECK(raised[0].fields.at("at") == "2026-03-02T08:00:05Z");
  CHECK(nlohmann::json::parse(raised[0].fields.at("props"))["provider_id"] == "provider-1");
  CHECK(f.store.lead_of_action(entry.action.action_id) == "L1");

  const OutboxEntry quiet = enrolled(f, "L2");
  DispatchRecord unheard{&quiet, DispatchOutcome::sent, "provider-2", t0};
  unheard.raise_event = false;
  f.store.record_many({unheard});
  CHECK(f.store.read_events(10, milliseconds(0)).empty());
  CHECK(f.store.lead_of_action(quiet.action.action_id).empty());
}

TEST_CASE_TEMPLATE("store: suppression is by address, whatever its case", F, STORES) {
  F f;
  CHECK_FALSE(f.store.is_suppressed("email", "ana@example.com"));
  f.store.suppress("email", "Ana@Example.com");
  CHECK(f.store.is_suppressed("email", "ana@example.com"));
  CHECK_FALSE(f.store.is_suppressed("sms", "ana@example.com"));
  const OutboxEntry entry = enrolled(f);
  CHECK(f.store.check_and_claim({entry}).front().suppressed);
}

TEST_CASE_TEMPLATE("store: suppression lists in bulk: added once whatever the case, taken off, read back whole", F,
                   STORES) {
  F f;
  CHECK(f.store.suppress_many("email", {"Ana@Example.com", "bo@example.com", "ana@example.com"}) == 2);
  CHECK(f.store.suppress_many("email", {"BO@example.com"}) == 0);
  CHECK(f.store.is_suppressed("email", "ana@example.com"));
  CHECK(f.store.unsuppress("email", "ANA@example.com"));
  CHECK_FALSE(f.store.unsuppress("email", "ana@example.com"));
  CHECK_FALSE(f.store.is_suppressed("email", "ana@example.com"));
  std::vector<std::string> all;
  f.store.scan_suppressed("email", [&](const std::vector<std::string>& some) {
    all.insert(all.end(), some.begin(), some.end());
    return true;
  });
  CHECK(all == std::vector<std::string>{"bo@example.com"});
  f.store.scan_suppressed("sms", [&](const std::vector<std::string>&) {
    FAIL("an empty list has nothing to visit");
    return true;
  });
}

TEST_CASE_TEMPLATE("store: every stored lead is scanned once, in batches", F, STORES) {
  F f;
  for (int i = 0; i < 25; ++i) {
    const std::string id = "L" + std::to_string(i);
    Transition t = set_attr(empty_lead(id), "x", i);
    REQUIRE(f.store.commit(empty_lead(id), t, "", "") == CommitOutcome::committed);
  }
  std::set<std::string> seen;
  int batches = 0;
  f.store.scan_leads(10, [&](std::vector<LeadSnapshot>& leads) {
    ++batches;
    for (const auto& lead : leads) CHECK(seen.insert(lead.id).second);
    return true;
  });
  CHECK(seen.size() == 25);
  CHECK(batches >= 2);
  CHECK(f.store.read_meta("segments").empty());
  f.store.write_meta("segments", "abc");
  CHECK(f.store.read_meta("segments") == "abc");
}

TEST_CASE_TEMPLATE("store: a retried action comes back when due with its attempt counted, a deferred one without",
                   F, STORES) {
  F f;
  const OutboxEntry entry = enrolled(f);
  REQUIRE(claim(f.store, entry) == ClaimOutcome::claimed);
  f.store.schedule_retry(entry, t0 + seconds(30), "451 busy");
  f.store.release_due_retries(t0 + seconds(29));
  CHECK(f.store.read_outbox(10).empty());
  f.store.release_due_retries(t0 + seconds(30));
  auto again = f.store.read_outbox(10);
  REQUIRE(again.size() == 1);
  CHECK(again[0].attempt == 2);
  CHECK(again[0].action.action_id == entry.action.action_id);
  CHECK(claim(f.store, again[0]) == ClaimOutcome::claimed);  // a retry is not a reclaimed crash
  f.store.defer(again[0], t0 + seconds(40), "rate");
  f.store.release_due_retries(t0 + seconds(40));
  auto deferred = f.store.read_outbox(10);
  REQUIRE(deferred.size() == 1);
  CHECK(deferred[0].attempt == 2);
  const auto counters = f.store.workflow_counters("welcome");
  CHECK(counters.at("step:hello:retried") == 1);
  CHECK(counters.at("step:hello:deferred") == 1);
}

TEST_CASE_TEMPLATE("store: a timer's due time is there to read, also while a paused workflow holds it", F, STORES) {
  F f;
  const TimerRef timer{"L1", "welcome", 1};
  CHECK_FALSE(f.store.timer_due(timer));
  REQUIRE(f.store.commit(empty_lead("L1"), enroll(empty_lead("L1")), "", "") == CommitOutcome::committed);
  REQUIRE(f.store.timer_due(timer));
  CHECK(*f.store.timer_due(timer) == t0 + hours(48));
  f.store.pause_workflow("welcome", t0);
  f.store.hold_timers(f.store.due_timers(t0 + hours(48), 10));
  CHECK(f.store.due_timers(t0 + hours(49), 10).empty());
  REQUIRE(f.store.timer_due(timer));  // `lead show` still says until when
  CHECK(*f.store.timer_due(timer) == t0 + hours(48));
  CHECK_FALSE(f.store.timer_due(TimerRef{"L1", "welcome", 2}));
}

TEST_CASE_TEMPLATE("store: a workflow's text is pinned as a version, a new version only when it changes", F, STORES) {
  F f;
  auto first = f.store.pin_workflow("welcome", "id: welcome\n");
  CHECK(first.current == 1);
  CHECK(f.store.pin_workflow("welcome", "id: welcome\n").current == 1);
  auto second = f.store.pin_workflow("welcome", "id: welcome\nsteps: []\n");
  CHECK(second.current == 2);
  CHECK(second.versions.size() == 2);
  CHECK(f.store.workflow_version("welcome", 1) == "id: welcome\n");
  CHECK(f.store.workflow_version("welcome", 3).empty());
  CHECK(f.store.workflow_version("other", 1).empty());
  CHECK(f.store.workflow_versions("welcome") == std::vector<int>{1, 2});  // what `report` names
  CHECK(f.store.workflow_versions("other").empty());
}

TEST_CASE_TEMPLATE("store: engines heard from within the lease are live, sorted", F, STORES) {
  F f;
  CHECK(f.store.heartbeat(seconds(10), t0) == std::vector<std::string>{"test"});
  CHECK(f.store.heartbeat(seconds(10), t0 + seconds(30)) == std::vector<std::string>{"test"});
  CHECK(f.store.consumer() == "test");
}

TEST_CASE_TEMPLATE("store: a dead-lettered timer does not come due again", F, STORES) {
  F f;
  REQUIRE(f.store.commit(empty_lead("L1"), enroll(empty_lead("L1")), "", "") == CommitOutcome::committed);
  auto due = f.store.due_timers(t0 + hours(48), 10);
  REQUIRE(due.size() == 1);
  f.store.dead_letter_timer(due[0], "engine error: boom");
  CHECK(f.store.due_timers(t0 + hours(48), 10).empty());
  CHECK_FALSE(f.store.next_timer_due().has_value());
}

TEST_CASE_TEMPLATE("store: a paused workflow's due timers and actions are held, and come back on resume", F, STORES) {
  F f;
  const OutboxEntry action = enrolled(f);
  REQUIRE(f.store.commit(empty_lead("L2"), enroll(empty_lead("L2")), "", "") == CommitOutcome::committed);
  CHECK(f.store.paused_workflows().empty());
  f.store.pause_workflow("welcome", t0 + minutes(1));
  f.store.pause_workflow("welcome", t0 + minutes(5));  // pausing again keeps the first time
  CHECK(f.store.paused_workflows() == std::map<std::string, TimePoint>{{"welcome", t0 + minutes(1)}});

  f.store.hold_actions({&action});
  f.store.replay_pending();
  CHECK(f.store.read_outbox(10).size() == 1);  // L2's action, never read before; L1's is acknowledged and held
  auto due = f.store.due_timers(t0 + hours(48), 10);
  REQUIRE(due.size() == 2);
  f.store.hold_timers(due);
  CHECK(f.store.due_timers(t0 + hours(49), 10).empty());
  CHECK_FALSE(f.store.next_timer_due().has_value());

  const Store::Released released = f.store.resume_workflow("welcome");
  CHECK(released.timers == 2);
  CHECK(released.actions == 1);
  CHECK(f.store.paused_workflows().empty());
  auto back = f.store.due_timers(t0 + hours(49), 10);
  REQUIRE(back.size() == 2);
  CHECK(back[0].due == t0 + hours(48));  // its own due time: it fires late, in order
  f.store.release_due_retries(t0);       // held actions are due at once, whatever the clock says
  auto again = f.store.read_outbox(10);
  REQUIRE(again.size() == 1);
  CHECK(again[0].action.action_id == action.action.action_id);
  CHECK(again[0].attempt == 1);
  CHECK(f.store.resume_workflow("welcome").actions == 0);
}

TEST_CASE_TEMPLATE("store: holding checks the pause itself: what a resumed workflow would hold goes on", F, STORES) {
  F f;
  const OutboxEntry action = enrolled(f);
  auto due = f.store.due_timers(t0 + hours(48), 10);
  REQUIRE(due.size() == 1);
  // The engine thought the workflow paused; it is not (resumed in between): nothing is stranded.
  f.store.hold_timers(due);
  CHECK(f.store.due_timers(t0 + hours(48), 10).size() == 1);
  f.store.hold_actions({&action});
  f.store.release_due_retries(t0);
  CHECK(f.store.read_outbox(10).size() == 1);
}

TEST_CASE_TEMPLATE("store: erasing a lead removes its state, timers, actions and events, and keeps the hash", F,
                   STORES) {
  F f;
  const OutboxEntry action = enrolled(f);
  REQUIRE(f.store.commit(empty_lead("L2"), enroll(empty_lead("L2")), "", "") == CommitOutcome::committed);
  DispatchRecord sent{&action, DispatchOutcome::sent, "provider-1", t0};
  sent.remember_lead = true;
  f.store.record_many({sent});  // raises email.sent for L1 and remembers which lead the message went to
  f.store.add_event({{"type", "page.viewed"}, {"lead", "L1"}});
  f.store.add_event({{"type", "page.viewed"}, {"lead", "L2"}});

  const Store::Erased erased = f.store.erase_lead("L1", {nurture::text::address_hash("ana@example.com")});
  CHECK(erased.lead);
  CHECK(erased.timers == 1);
  CHECK(erased.events == 2);  // the one raised for it and the one not yet read
  CHECK(erased.remembered == 1);
  CHECK(f.store.load_lead("L1").version == 0);
  CHECK(f.store.load_lead("L2").version == 1);
  auto due = f.store.due_timers(t0 + hours(48), 10);
  REQUIRE(due.size() == 1);
  CHECK(due[0].lead == "L2");
  auto events = f.store.read_events(10, milliseconds(0));
  REQUIRE(events.size() == 1);
  CHECK(events[0].fields.at("lead") == "L2");
  CHECK(f.store.lead_of_action(action.action.action_id).empty());
  CHECK(f.store.is_suppressed("email", "Ana@Example.com"));  // known again by its hash alone
  f.store.scan_suppressed("email", [](const std::vector<std::string>& some) {
    for (const auto& kept : some) CHECK(kept.rfind("sha256:", 0) == 0);
    return true;
  });
  CHECK_FALSE(f.store.erase_lead("L1", {}).lead);
}

TEST_CASE_TEMPLATE("store: erasing a lead removes its actions waiting in the outbox, a retry or a pause", F, STORES) {
  F f;
  const OutboxEntry first = enrolled(f);
  f.store.schedule_retry(first, t0 + minutes(5), "busy");
  const LeadSnapshot before = f.store.load_lead("L1");
  Transition again = enroll(before, 2);
  again.actions[0].action_id = "second";
  REQUIRE(f.store.commit(before, again, "", "") == CommitOutcome::committed);  // one more, not read yet
  const Store::Erased erased = f.store.erase_lead("L1", {});
  CHECK(erased.actions == 3);  // the retry, the new one, and the first as the outbox stream still kept it
  f.store.release_due_retries(t0 + hours(1));
  f.store.replay_pending();
  CHECK(f.store.read_outbox(10).empty());
}
