// What only the Redis store has: its key layout, the partition count it records, trimming and consumer-group
// takeover. What every store must do is in store_contract_test.cpp.

#include <doctest/doctest.h>

#include <functional>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "engine/core/identity.hpp"
#include "engine/store/redis/lead_fields.hpp"
#include "engine/store/redis/redis_store.hpp"
#include "text/utf8.hpp"
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
  CHECK(redis->command({"HGET", "nurture:{" + std::to_string(partition_of("L1", 4)) + "}:lead:L1", "ev1"}).text == compact_stream_id("500-0"));
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

namespace {
// The welcome email as a transition plans it for `lead`.
PlannedAction welcome_email(const std::string& id, const std::string& lead, const std::string& connector) {
  PlannedAction action;
  action.action_id = id;
  action.lead = lead;
  action.workflow = "welcome";
  action.step = "hello";
  action.kind = "email";
  action.template_name = "welcome";
  action.connector = connector;
  action.to = "ana@example.com";
  return action;
}
}  // namespace

TEST_CASE("a packed outbox entry reads back as it was written, whatever bytes its parts hold") {
  PlannedAction action = welcome_email("0123abcd", "lead:1", "smtp_main");
  action.version = 3;
  action.note = "12:34 a note with: colons\nand a 99: that looks like a length";
  action.due_ms = 1796072661024;
  action.arms = "split_a:1";
  action.lead_data = R"({"a":{"name":"Ana"},"s":12.5,"st":""})";
  const auto fields = packed_outbox_fields(action, 4);
  REQUIRE(fields.size() == 4);
  CHECK(fields[0] == "lead");
  CHECK(fields[1] == "lead:1");  // a field of its own: the erase of a lead finds it
  CHECK(fields[2] == "p");
  PlannedAction read;
  int attempt = 0;
  REQUIRE(unpack_outbox_value(fields[3], read, attempt));
  CHECK(attempt == 4);
  CHECK(read.action_id == action.action_id);
  CHECK(read.workflow == action.workflow);
  CHECK(read.version == 3);
  CHECK(read.step == action.step);
  CHECK(read.kind == action.kind);
  CHECK(read.template_name == action.template_name);
  CHECK(read.connector == action.connector);
  CHECK(read.to == action.to);
  CHECK(read.note == action.note);
  CHECK(read.due_ms == action.due_ms);
  CHECK(read.arms == action.arms);
  CHECK(read.lead_data == action.lead_data);

  SUBCASE("a value cut short, padded or of another version does not parse") {
    const std::string& packed = fields[3];
    CHECK_FALSE(unpack_outbox_value(packed.substr(0, packed.size() - 1), read, attempt));
    CHECK_FALSE(unpack_outbox_value(packed + "x", read, attempt));
    CHECK_FALSE(unpack_outbox_value("2" + packed.substr(1), read, attempt));
    CHECK_FALSE(unpack_outbox_value("1;99999999999999999999:x", read, attempt));
    CHECK_FALSE(unpack_outbox_value("", read, attempt));
  }
}

TEST_CASE("the outbox hands out entries written packed by a commit and written field by field alike") {
  StoreFixture f;
  const PlannedAction action = welcome_email("a1", "L1", "outbox");
  const int p = partition_of("L1", 4);
  const std::string outbox = "nurture:{" + std::to_string(p) + "}:outbox";
  for (const auto& fields : {packed_outbox_fields(action, 1), outbox_fields(action, 2)}) {
    Command add{"XADD", outbox, "*"};
    add.insert(add.end(), fields.begin(), fields.end());
    REQUIRE_FALSE(f.redis(add).is_error());
  }
  const auto entries = f.store.read_outbox(10, milliseconds(10));
  REQUIRE(entries.size() == 2);
  for (const auto& entry : entries) {
    CHECK(entry.partition == p);
    CHECK(entry.action.action_id == "a1");
    CHECK(entry.action.lead == "L1");
    CHECK(entry.action.to == "ana@example.com");
    CHECK(entry.action.template_name == "welcome");
  }
  CHECK(entries[0].attempt == 1);
  CHECK(entries[1].attempt == 2);
}

TEST_CASE("a timer due in hours waits in a bucket, and reaches the sorted set before it falls due") {
  StoreFixture f;
  const TimePoint t0 = from_unix_ms(1'700'000'123'456);
  const TimePoint due = t0 + hours(3);
  auto enroll = [&](const std::string& lead, std::uint64_t seq) {
    LeadSnapshot before;
    before.id = lead;
    Transition t;
    t.decided_at = t0;
    t.lead = before;
    t.lead.enrollments["welcome"].seq = seq;
    t.timers_to_add.push_back({TimerRef{lead, "welcome", seq}, due});
    REQUIRE(f.store.commit(before, t, "", "") == CommitOutcome::committed);
  };
  for (const std::string lead : {"L1", "L2", "L3"}) enroll(lead, 1);
  long long in_sorted_sets = 0;
  for (int p = 0; p < 4; ++p) in_sorted_sets += f.redis({"ZCARD", fmt::format("nurture:{{{}}}:timers", p)}).integer;
  CHECK(in_sorted_sets == 0);
  CHECK(f.store.timer_due(TimerRef{"L1", "welcome", 1}) == due);
  CHECK(f.store.due_timers(t0 + hours(1), 100).empty());

  // L2 moves on (its enrollment's seq with it) and L3 is erased: their entries are dropped, not fired.
  LeadSnapshot l2 = f.store.load_lead("L2");
  Transition move;
  move.decided_at = t0 + hours(1);
  move.expected_version = l2.version;
  move.lead = l2;
  move.lead.enrollments["welcome"].seq = 2;
  move.timers_to_remove.push_back(TimerRef{"L2", "welcome", 1});
  REQUIRE(f.store.commit(l2, move, "", "") == CommitOutcome::committed);
  CHECK(f.store.erase_lead("L3", {}).timers == 1);

  CHECK(f.store.due_timers(due - milliseconds(1), 100).empty());
  const int p1 = partition_of("L1", 4);
  CHECK(f.redis({"ZSCORE", fmt::format("nurture:{{{}}}:timers", p1), TimerRef{"L1", "welcome", 1}.member()}).text ==
        std::to_string(to_unix_ms(due)));
  const auto fired = f.store.due_timers(due, 100);
  REQUIRE(fired.size() == 1);
  CHECK(fired[0].lead == "L1");
  CHECK(fired[0].due == due);
  for (int p = 0; p < 4; ++p) CHECK(f.redis({"EXISTS", fmt::format("nurture:{{{}}}:timers:b", p)}).integer == 0);
}

TEST_CASE("bucketed timers are filed again however late the engine looks, and near ones go straight in") {
  StoreFixture f;
  const TimePoint t0 = from_unix_ms(1'700'000'000'000);
  LeadSnapshot before;
  before.id = "L1";
  Transition t;
  t.decided_at = t0;
  t.lead = before;
  t.lead.enrollments["far"].seq = 1;
  t.lead.enrollments["near"].seq = 1;
  t.timers_to_add.push_back({TimerRef{"L1", "far", 1}, t0 + days(5)});
  t.timers_to_add.push_back({TimerRef{"L1", "near", 1}, t0 + seconds(90)});
  REQUIRE(f.store.commit(before, t, "", "") == CommitOutcome::committed);
  const std::string timers = fmt::format("nurture:{{{}}}:timers", partition_of("L1", 4));
  CHECK(f.redis({"ZCARD", timers}).integer == 1);
  CHECK(f.redis({"ZCARD", timers + ":b"}).integer == 1);
  // The engine was down for a week: both come at once, in due order.
  const auto fired = f.store.due_timers(t0 + days(7), 100);
  REQUIRE(fired.size() == 2);
  CHECK(fired[0].workflow == "near");
  CHECK(fired[1].workflow == "far");
  CHECK(fired[1].due == t0 + days(5));
}

TEST_CASE("a lead's hash keeps stream ids in base 36 and reads both forms") {
  CHECK(compact_stream_id("1796084114740-5") == "~mx3y3whg-5");
  CHECK(full_stream_id("~mx3y3whg-5") == "1796084114740-5");
  CHECK(full_stream_id("1796084114740-5") == "1796084114740-5");
  for (const std::string odd : {"", "x", "12", "12-", "-3", "1-2-3", "~", "~zz", "~1-!"}) {
    CAPTURE(odd);
    CHECK(full_stream_id(compact_stream_id(odd)) == odd);
  }
  LeadSnapshot lead;
  lead.id = "L1";
  lead.last_stream_id = "1796084114740-12345";
  lead.last_inbox_id = "5-0";
  const FieldMap fields = pack_lead(lead);
  CHECK(fields.at("ev") == "~mx3y3whg-9ix");
  const LeadSnapshot back = unpack_lead("L1", fields);
  CHECK(back.last_stream_id == lead.last_stream_id);
  CHECK(back.last_inbox_id == "5-0");
}

TEST_CASE("a lead's attributes read back as the JSON parser reads them, value and type, plain or not") {
  // Plain strings and integers take a shorter path than the parser; both must give the same value of the same type.
  const std::vector<std::string> stored = {
      R"("lead1@example.com")", R"("")", R"("Zoë 東京")", R"("say \"hi\"")", R"("tab\there")", "\"raw\ttab\"",
      "0", "42", "-0", "-17", "18446744073709551615", "18446744073709551616", "-9223372036854775808",
      "-9223372036854775809", "007", "1.5", "1e3", "true", "false", "null", "[1,\"a\"]", R"({"x":{"y":2}})", "+1",
      "-", "\"unterminated", "\"\xff\"", "not json"};
  for (const auto& text : stored) {
    CAPTURE(text);
    const LeadSnapshot lead = unpack_lead("L1", {{"a:x", text}});
    auto parsed = nlohmann::json::parse(text, nullptr, false);
    if (parsed.is_discarded()) parsed = nlohmann::json::parse(nurture::text::to_valid_utf8(text), nullptr, false);
    if (parsed.is_discarded()) {
      CHECK_FALSE(lead.attrs.contains("x"));
      continue;
    }
    REQUIRE(lead.attrs.contains("x"));
    CHECK(lead.attrs["x"] == parsed);
    CHECK(lead.attrs["x"].type() == parsed.type());
    CHECK(lead.attrs["x"].dump() == parsed.dump());
  }
}

TEST_CASE("a commit writes what differs between two packed leads and removes what is gone, as a diff of both packs") {
  LeadSnapshot before;
  before.id = "L1";
  before.version = 4;
  before.last_stream_id = "1796084114740-5";
  before.attrs = {{"email", "a@example.com"}, {"plan", "free"}, {"seats", 3}, {"meta", {{"x", 1}}}};
  before.enrollments["drip"] = Enrollment{1, 2, 7, 1796084114000, EnrollmentStatus::waiting, 1, {}, {}};
  before.enrollments["old"] = Enrollment{1, 0, 1, 1796084110000, EnrollmentStatus::completed, 1, {}, {}};
  before.score = 5;
  before.tags = {"vip"};
  before.history = {HistoryEntry{"email.opened", 1796084114000, "drip", "s1", "a1", {{"url", "x"}}}};
  before.counts = {{"page.viewed", 2}};
  // The reference: pack both whole, set what differs, remove what is gone.
  auto by_packing = [](const LeadSnapshot& old_lead, LeadSnapshot new_lead, const LeadStamp& stamp) {
    new_lead.version = stamp.version;
    if (!stamp.last_stream_id.empty()) new_lead.last_stream_id = stamp.last_stream_id;
    if (!stamp.last_inbox_id.empty()) new_lead.last_inbox_id = stamp.last_inbox_id;
    const FieldMap old_fields = pack_lead(old_lead), new_fields = pack_lead(new_lead);
    std::map<std::string, std::string> set;
    std::set<std::string> removed;
    for (const auto& [field, value] : new_fields) {
      if (!old_fields.count(field) || old_fields.at(field) != value) set[field] = value;
    }
    for (const auto& [field, value] : old_fields) {
      if (!new_fields.count(field)) removed.insert(field);
    }
    return std::pair{set, removed};
  };
  std::vector<std::pair<std::string, std::function<void(LeadSnapshot&)>>> changes = {
      {"nothing", [](LeadSnapshot&) {}},
      {"an attribute changed", [](LeadSnapshot& l) { l.attrs["plan"] = "pro"; }},
      {"a nested attribute changed", [](LeadSnapshot& l) { l.attrs["meta"]["x"] = 2; }},
      {"an attribute added and one removed", [](LeadSnapshot& l) { l.attrs["city"] = "Oslo"; l.attrs.erase("seats"); }},
      {"a number becomes a string", [](LeadSnapshot& l) { l.attrs["seats"] = "3"; }},
      {"an enrollment moved on", [](LeadSnapshot& l) { l.enrollments["drip"].step = 3; l.enrollments["drip"].seq = 8; }},
      {"an enrollment's arms", [](LeadSnapshot& l) { l.enrollments["drip"].arms["subject"] = 1; }},
      {"an enrollment added and one removed", [](LeadSnapshot& l) {
         l.enrollments["new"] = Enrollment{};
         l.enrollments.erase("old");
       }},
      {"score, tags and stage", [](LeadSnapshot& l) { l.score = 0; l.tags.clear(); l.stage = "mql"; }},
      {"the score's decay time", [](LeadSnapshot& l) { l.score_at_ms = 1796084114000; }},
      {"history grows", [](LeadSnapshot& l) { l.history.push_back(HistoryEntry{"form.submitted", 1796084115000}); }},
      {"a history entry's props", [](LeadSnapshot& l) { l.history[0].props["url"] = "y"; }},
      {"score log, last touch and stage history", [](LeadSnapshot& l) {
         l.score_log.push_back(ScoreEntry{"event:demo.requested", 20, 1796084115000, "demo.requested"});
         l.last_touch = LeadSnapshot::Touch{"drip", "s2", "", 1796084115000};
         l.stage_history.emplace_back("mql", 1796084115000);
       }},
      {"counts, segments and their check time", [](LeadSnapshot& l) {
         l.counts["page.viewed"] = 3;
         l.segments.insert("hot");
         l.segments_check_ms = 1796084200000;
       }},
      {"broadcasts, recent sends, suppressions and attribute rules", [](LeadSnapshot& l) {
         l.broadcasts["june"] = -1;
         l.recent_sends_ms["email"] = {1796084114000};
         l.suppressed.insert("email");
         l.attr_rules_scored.insert("attr:job_title");
       }},
      {"history and counts gone", [](LeadSnapshot& l) { l.history.clear(); l.counts.clear(); }},
      {"everything gone", [](LeadSnapshot& l) { l.attrs = nlohmann::json::object(); l.enrollments.clear(); }},
  };
  for (const LeadStamp& stamp : {LeadStamp{5, "", ""}, LeadStamp{5, "1796084114741-0", ""},
                                 LeadStamp{5, "", "1796084114741-3"}}) {
    for (const auto& [what, change] : changes) {
      CAPTURE(what);
      CAPTURE(stamp.last_stream_id);
      LeadSnapshot after = before;
      change(after);
      const auto [want_set, want_removed] = by_packing(before, after, stamp);
      const LeadFieldChanges got = lead_field_changes(before, after, stamp);
      const std::map<std::string, std::string> got_set(got.set.begin(), got.set.end());
      CHECK(got_set.size() == got.set.size());  // no field twice
      CHECK(got_set == want_set);
      CHECK(std::set<std::string>(got.removed.begin(), got.removed.end()) == want_removed);
    }
  }
}

TEST_CASE("an event already applied is a duplicate whichever form the lead's hash keeps its position in") {
  StoreFixture f;
  const int p = partition_of("L1", 4);
  const std::string key = fmt::format("nurture:{{{}}}:lead:L1", p);
  for (const std::string kept : {"1796084114740-7", "~mx3y3whg-7"}) {
    CAPTURE(kept);
    f.redis({"DEL", key});
    f.redis({"HSET", key, "ver", "1", "ev", kept, "ev1", kept});
    const LeadSnapshot before = f.store.load_lead("L1");
    Transition t;
    t.expected_version = before.version;
    t.lead = before;
    t.lead.attrs["x"] = 1;
    CHECK(f.store.commit(before, t, "1796084114740-7", "") == CommitOutcome::duplicate);
    CHECK(f.store.commit(before, t, "1796084114739-99", "") == CommitOutcome::duplicate);
    // Another front-door stream's position (evK), which only the script writes.
    CommitRequest on_stream_1{&before, &t, "1796084114740-7", "", false, 1};
    CHECK(f.store.commit_many({on_stream_1}) == std::vector<CommitOutcome>{CommitOutcome::duplicate});
    CHECK(f.store.commit(before, t, "1796084114740-8", "") == CommitOutcome::committed);
    CHECK(f.redis({"HGET", key, "ev"}).text == compact_stream_id("1796084114740-8"));
  }
}
