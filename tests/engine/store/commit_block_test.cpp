// A commit on one Redis server made with native commands (WATCH, checks; MULTI, writes, EXEC) against the same
// commit made by the script a cluster uses: the same outcomes and the same end state, and a race between the two
// round trips lost by nobody.

#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <map>

#include <fmt/format.h>

#include "engine/core/identity.hpp"
#include "engine/store/redis/commit_block.hpp"
#include "engine/store/redis/redis_store.hpp"
#include "tests/support/fixtures.hpp"

using namespace nurture::engine;
using namespace nurture::engine::redis;
using namespace std::chrono;
using nurture::testing::RedisServer;
using nurture::testing::TempDir;

namespace {

const TimePoint t0 = from_unix_ms(1'700'000'000'000);

RedisStoreOptions options(const std::string& prefix, bool by_script) {
  RedisStoreOptions o{prefix, 4, "test", hours(24), hours(24)};
  o.commit_by_script = by_script;
  return o;
}

LeadSnapshot lead_named(const std::string& id) {
  LeadSnapshot lead;
  lead.id = id;
  return lead;
}

// A transition from `before` touching everything a commit writes: fields set (and removed, past seq 1), a near
// timer, timers in a minute, an hour and a day bucket, one removed, an outbox entry and counters.
Transition busy(const LeadSnapshot& before, std::uint64_t seq) {
  Transition t;
  t.decided_at = t0 + seconds(static_cast<long>(seq));
  t.expected_version = before.version;
  t.lead = before;
  t.lead.attrs["plan"] = fmt::format("p{}", seq);
  if (seq == 1) t.lead.attrs["old"] = 1;
  else t.lead.attrs.erase("old");
  t.lead.enrollments["welcome"].seq = seq;
  const std::string& id = before.id;
  t.timers_to_add.push_back({TimerRef{id, "welcome", seq}, t.decided_at + seconds(30)});
  t.timers_to_add.push_back({TimerRef{id, "minutes", seq}, t.decided_at + minutes(30)});
  t.timers_to_add.push_back({TimerRef{id, "hours", seq}, t.decided_at + hours(20)});
  t.timers_to_add.push_back({TimerRef{id, "days", seq}, t.decided_at + days(9)});
  t.timers_to_add.push_back({TimerRef{id, "~segments", 0}, t.decided_at + days(9)});
  t.timers_to_add.push_back({TimerRef{id, "gone", seq}, t.decided_at + days(1)});
  t.timers_to_remove.push_back(TimerRef{id, "gone", seq});  // added, then removed: removed
  if (seq > 1) t.timers_to_remove.push_back(TimerRef{id, "welcome", seq - 1});
  PlannedAction action;
  action.action_id = action_id(id, "welcome", 1, seq, "hello", 1);
  action.lead = id;
  action.workflow = "welcome";
  action.step = "hello";
  action.kind = "email";
  action.connector = "smtp";
  action.to = id + "@example.com";
  t.actions.push_back(action);
  t.counters.push_back({"welcome", "entered"});
  t.counters.push_back({"welcome", "sent", 2});
  t.counters.push_back({"other", "sent"});
  return t;
}

// Every key under a prefix with its content (stream entry ids left out, a TTL as whether it has one), by its name
// without the prefix.
std::map<std::string, std::string> dump(RedisStore& store, const std::string& prefix) {
  auto& redis = store.connection();
  std::map<std::string, std::string> out;
  for (const auto& key : redis.command({"KEYS", prefix + "*"}).elements) {
    const std::string type = redis.command({"TYPE", key.text}).text;
    std::vector<std::string> parts{type, redis.command({"TTL", key.text}).integer > 0 ? "ttl" : "-"};
    auto add = [&](const RedisReply& reply) {
      for (const auto& e : reply.elements) parts.push_back(e.text);
    };
    if (type == "hash") {
      std::map<std::string, std::string> fields;
      const auto all = redis.command({"HGETALL", key.text}).elements;
      for (std::size_t i = 0; i + 1 < all.size(); i += 2) fields[all[i].text] = all[i + 1].text;
      for (const auto& [f, v] : fields) parts.push_back(f + "=" + v);
    } else if (type == "zset") {
      add(redis.command({"ZRANGE", key.text, "0", "-1", "WITHSCORES"}));
    } else if (type == "list") {
      add(redis.command({"LRANGE", key.text, "0", "-1"}));
    } else if (type == "stream") {
      for (const auto& entry : redis.command({"XRANGE", key.text, "-", "+"}).elements) add(entry.elements.at(1));
    } else if (type == "string") {
      parts.push_back(redis.command({"GET", key.text}).text);
    }
    std::string text;
    for (const auto& part : parts) text += part + "|";
    out[key.text.substr(prefix.size())] = text;
  }
  return out;
}

struct TwoStores {
  TempDir dir;
  RedisServer server{dir / "redis"};
  RedisStore native{server.connect(), options("n:", false)};
  RedisStore script{server.connect(), options("s:", true)};
  TwoStores() {
    native.prepare();
    script.prepare();
  }
  // The same batch on both: the same outcomes.
  std::vector<CommitOutcome> commit(const std::vector<CommitRequest>& requests) {
    const auto by_native = native.commit_many(requests);
    const auto by_script = script.commit_many(requests);
    CHECK(by_native == by_script);
    return by_native;
  }
};

// A native-committing store on a server of its own, another client of that server, and what that client does
// between each transaction's checks and its writes (a race made on purpose).
struct Raced {
  TempDir dir;
  RedisServer server{dir / "redis"};
  std::unique_ptr<RedisConnection> other = server.connect();
  std::function<void()> race;
  int transactions = 0;
  RedisStore store{server.connect(), racing()};
  Raced() { store.prepare(); }
  RedisStoreOptions racing() {
    RedisStoreOptions o = options("nurture:", false);
    o.between_commit_round_trips = [this] {
      ++transactions;
      if (race) race();
    };
    return o;
  }
  std::string lead_key(const std::string& lead) const {
    return fmt::format("nurture:{{{}}}:lead:{}", partition_of(lead, 4), lead);
  }
};

}  // namespace

TEST_CASE("native commits and the commit script leave the same state, outcome for outcome") {
  TwoStores f;
  std::vector<LeadSnapshot> leads;
  for (int i = 1; i <= 6; ++i) leads.push_back(lead_named(fmt::format("L{}", i)));
  std::vector<Transition> first;
  for (const auto& lead : leads) first.push_back(busy(lead, 1));
  std::vector<CommitRequest> batch;
  for (std::size_t i = 0; i < leads.size(); ++i) batch.push_back({&leads[i], &first[i], fmt::format("100-{}", i)});
  batch[1].event_id = "evt-2";
  batch[2].front_door = 2;  // remembered outside the snapshot, in ev2
  batch[3].from_inbox = true;
  batch[4].stream_id.clear();
  CHECK(f.commit(batch) == std::vector<CommitOutcome>(6, CommitOutcome::committed));

  // Then: a stale snapshot, an entry applied before, a producer id seen, a front-door-2 entry applied before, and
  // two that commit (one a new seq, its old timer removed).
  std::vector<LeadSnapshot> now;
  for (const auto& lead : leads) now.push_back(f.native.load_lead(lead.id));
  CHECK(now[0].version == f.script.load_lead("L1").version);
  std::vector<Transition> second;
  for (const auto& lead : now) second.push_back(busy(lead, 2));
  second[0].expected_version = 0;
  std::vector<CommitRequest> again{{&now[0], &second[0], "200-0"},          {&now[1], &second[1], "200-1", "evt-2"},
                                   {&now[2], &second[2], "50-0", "", false, 2}, {&now[3], &second[3], "99-0"},
                                   {&now[4], &second[4], "100-0"},          {&now[5], &second[5], "100-5"}};
  CHECK(f.commit(again) == std::vector<CommitOutcome>{CommitOutcome::conflict, CommitOutcome::duplicate,
                                                      CommitOutcome::duplicate, CommitOutcome::committed,
                                                      CommitOutcome::committed, CommitOutcome::duplicate});

  // A lead twice in one batch: the second block sees the first one's writes (the native store takes the script).
  const LeadSnapshot l4 = f.native.load_lead("L4");
  const Transition t4 = busy(l4, 3), stale = busy(l4, 4);
  CHECK(f.commit({{&l4, &t4, "300-0"}, {&l4, &stale, "300-1"}}) ==
        std::vector<CommitOutcome>{CommitOutcome::committed, CommitOutcome::conflict});

  const auto native = dump(f.native, "n:"), script = dump(f.script, "s:");
  CHECK(native.size() > 20);
  for (const auto& entry : script) {
    const std::string& key = entry.first;
    CAPTURE(key);
    CHECK(native.count(key) == 1);
    if (native.count(key)) CHECK(native.at(key) == entry.second);
  }
  CHECK(native.size() == script.size());
}

TEST_CASE("a lead changed between a native commit's checks and its writes: nothing written, the script decides") {
  Raced f;
  f.race = [&] { f.other->command({"HSET", f.lead_key("L1"), "ver", "7"}); };  // another engine's commit
  const LeadSnapshot before = lead_named("L1");
  const Transition t = busy(before, 1);
  CHECK(f.store.commit(before, t, "100-0", "evt-1") == CommitOutcome::conflict);
  CHECK(f.transactions == 1);
  CHECK(f.store.read_outbox(10).empty());
  CHECK(f.other->command({"EXISTS", fmt::format("nurture:{{{}}}:seen:evt-1", partition_of("L1", 4))}).integer == 0);
  CHECK(f.store.workflow_counters("welcome").empty());
  CHECK(f.other->command({"HGET", f.lead_key("L1"), "ver"}).text == "7");
}

TEST_CASE("a large batch commits in several transactions, and one that loses a race goes through the script alone") {
  Raced f;
  f.race = [&] {
    // Between the second transaction's checks and its writes, another client writes to every lead (a field the
    // commit does not check): Redis refuses that transaction's EXEC, and its leads must still be committed, by
    // the script. The leads of the first transaction are committed already; those of the later ones are
    // watched after the write, so it does not stop them.
    if (f.transactions != 2) return;
    for (std::size_t i = 0; i < 3 * blocks_per_transaction + 8; ++i) {
      f.other->command({"HSET", f.lead_key(fmt::format("L{}", i)), "touched", "1"});
    }
  };
  std::vector<LeadSnapshot> leads;
  for (std::size_t i = 0; i < 3 * blocks_per_transaction + 8; ++i) leads.push_back(lead_named(fmt::format("L{}", i)));
  std::vector<Transition> ts;
  for (const auto& lead : leads) ts.push_back(busy(lead, 1));
  std::vector<CommitRequest> batch;
  for (std::size_t i = 0; i < leads.size(); ++i) batch.push_back({&leads[i], &ts[i], fmt::format("100-{}", i)});
  const auto outcomes = f.store.commit_many(batch);
  const long n = static_cast<long>(leads.size());
  CHECK(f.transactions == 4);
  CHECK(std::count(outcomes.begin(), outcomes.end(), CommitOutcome::committed) == n);
  CHECK(f.store.read_outbox(1000).size() == leads.size());
  CHECK(f.store.workflow_counters("welcome")["entered"] == n);
  CHECK(f.store.workflow_counters("welcome")["sent"] == 2 * n);
  for (const auto& lead : leads) {
    CAPTURE(lead.id);
    const LeadSnapshot stored = f.store.load_lead(lead.id);
    CHECK(stored.version == 1);
    CHECK(stored.attrs["plan"] == "p1");
  }
}

TEST_CASE("a producer id seen between a native commit's checks and its writes makes the event a duplicate") {
  Raced f;
  f.race = [&] { f.other->command({"SET", fmt::format("nurture:{{{}}}:seen:evt-1", partition_of("L1", 4)), "1"}); };
  const LeadSnapshot before = lead_named("L1");
  const Transition t = busy(before, 1);
  CHECK(f.store.commit(before, t, "100-0", "evt-1") == CommitOutcome::duplicate);
  CHECK(f.transactions == 1);
  CHECK(f.store.load_lead("L1").version == 0);
}

TEST_CASE("a native commit that writes nothing leaves no watch behind on its connection") {
  Raced f;
  const LeadSnapshot empty = lead_named("L1");
  REQUIRE(f.store.commit(empty, busy(empty, 1), "", "") == CommitOutcome::committed);
  REQUIRE(f.store.commit(empty, busy(empty, 1), "", "") == CommitOutcome::conflict);  // checked, nothing to write
  f.other->command({"HSET", f.lead_key("L1"), "x", "1"});
  // A transaction on the same connection (a dead letter is one) still goes through.
  f.store.dead_letter_timer(TimerRef{"L1", "welcome", 1}, "engine error: boom");
  CHECK(f.other->command({"XLEN", "nurture:events:dead"}).integer == 1);
}

TEST_CASE("stream positions compare in either form the lead's hash keeps them") {
  CHECK(stream_position_passed("~mx3y3whg-5", "1796084114740-5"));
  CHECK(stream_position_passed("1796084114740-5", "~mx3y3whg-4"));
  CHECK_FALSE(stream_position_passed("1796084114740-5", "~mx3y3whg-6"));
  CHECK(stream_position_passed("200-5", "199-9"));
  CHECK_FALSE(stream_position_passed("200-5", "201-0"));
  for (const std::string odd : {"", "x", "12", "12-", "-3", "1-2-3", "~", "~1-!", "~-1"}) {
    CAPTURE(odd);
    CHECK_FALSE(stream_position_passed(odd, "1-0"));
    CHECK_FALSE(stream_position_passed("9-9", odd));
  }
}

TEST_CASE("the filing rule: near timers in the sorted set, later ones a minute, an hour or a day early in buckets") {
  const long long now = 1'700'000'000'000;
  CHECK_FALSE(timer_bucket("L1\x1fw\x1f" "1", now + 119'999, now));
  CHECK_FALSE(timer_bucket("L1\x1fw\x1f" "1", now + days(3) / 1ms, std::nullopt));
  CHECK_FALSE(timer_bucket("L1\x1f~segments\x1f" "0", now + days(3) / 1ms, now));
  const long long in_30_min = now + 1'800'000;
  CHECK(timer_bucket("L1\x1fw\x1f" "1", in_30_min, now) == in_30_min / 60000 * 60000 - 60000);
  const long long in_20_h = now + 72'000'000;
  CHECK(timer_bucket("L1\x1fw\x1f" "1", in_20_h, now) == in_20_h / 3'600'000 * 3'600'000 - 3'600'000);
  const long long in_9_d = now + 777'600'000;
  CHECK(timer_bucket("L1\x1fw\x1f" "1", in_9_d, now) == in_9_d / 86'400'000 * 86'400'000 - 86'400'000);
}
