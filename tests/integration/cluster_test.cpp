// nurture on a real Redis Cluster (3 masters, a replica each; tests/support/redis_cluster.hpp): the connection's
// routing and redirects, then the daemon: a drip end to end, several engine processes with one killed, a master
// killed (its replica promoted), slots resharded while events flow. Every case checks that each lead got each of
// its two emails exactly once (the file connector names each file by action id).

#include <csignal>
#include <fstream>
#include <set>
#include <thread>

#include <doctest/doctest.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "engine/store/redis/cluster_routing.hpp"
#include "engine/core/identity.hpp"
#include "engine/store/redis/keys.hpp"
#include "engine/store/redis/redis_store.hpp"
#include "tests/support/daemon_campaign.hpp"
#include "tests/support/redis_cluster.hpp"

using namespace nurture::testing;
using namespace nurture::engine::redis;
using namespace std::chrono;

TEST_CASE("on Redis Cluster each command goes to its slot's master, MOVED is followed after a reshard, and streams of many slots are read together") {
  TempDir dir;
  RedisCluster cluster(dir.path());
  auto redis = cluster.connect();
  CHECK(redis->clustered());
  Keys keys("nurture:");
  std::vector<Command> writes;
  for (int p = 0; p < 64; ++p) writes.push_back({"SET", keys.lead(p, "L"), std::to_string(p)});
  for (const auto& reply : redis->pipeline(writes)) CHECK(reply.text == "OK");
  // Each key landed on the master that serves its slot, not on whichever node took the connection.
  std::set<int> masters;
  for (int p = 0; p < 64; ++p) {
    const int master = cluster.master_of(keys.lead(p, "L"));
    masters.insert(master);
    CHECK(cluster.ask(master, {"GET", keys.lead(p, "L")}).text == std::to_string(p));
  }
  CHECK(masters.size() == 3);

  // A transaction and a script on one partition's keys run on its master.
  auto tx = redis->pipeline({{"MULTI"}, {"HSET", keys.lead(5, "L2"), "a", "1"}, {"ZADD", keys.timers(5), "1", "m"}, {"EXEC"}});
  REQUIRE(tx.back().type == RedisReply::Type::array);
  CHECK(tx.back().elements.size() == 2);
  Script script{"return redis.call('ZCARD', KEYS[1]) + redis.call('HLEN', KEYS[2])", ""};
  CHECK(redis->eval(script, {keys.timers(5), keys.lead(5, "L2")}, {}).integer == 2);

  // XREADGROUP over streams in several slots is read stream by stream and merged.
  std::vector<Command> setup;
  for (int p = 0; p < 4; ++p) {
    setup.push_back({"XGROUP", "CREATE", keys.inbox(p), "g", "0", "MKSTREAM"});
    setup.push_back({"XADD", keys.inbox(p), "*", "p", std::to_string(p)});
  }
  for (const auto& reply : redis->pipeline(setup)) CHECK_FALSE(reply.is_error());
  Command read{"XREADGROUP", "GROUP", "g", "c", "COUNT", "10", "BLOCK", "20", "STREAMS"};
  for (int p = 0; p < 4; ++p) read.push_back(keys.inbox(p));
  for (int p = 0; p < 4; ++p) read.push_back(">");
  auto got = redis->command(read);
  REQUIRE(got.type == RedisReply::Type::array);
  CHECK(got.elements.size() == 4);
  CHECK(redis->command(read).is_nil());  // nothing new: blocked 20 ms on the first stream, then nil

  // Move the slot of partition 0's keys to another master: the connection's map is stale, MOVED says where.
  const std::string moved_key = keys.lead(0, "L");
  const int from = cluster.master_of(moved_key);
  int to = -1;
  for (int node : masters) {
    if (node != from) to = node;
  }
  REQUIRE(cluster.reshard(from, to, 16384 / 3 + 2) == 0);  // more than the first master's whole range
  CHECK(cluster.master_of(moved_key) == to);
  CHECK(redis->command({"GET", moved_key}).text == "0");
  CHECK(redis->command({"INCR", moved_key}).integer == 1);
  int served = 0;
  for (int p = 0; p < 64; ++p) served += redis->command({"GET", keys.lead(p, "L")}).text == (p == 0 ? "1" : std::to_string(p));
  CHECK(served == 64);

  // SCAN covers every master.
  int found = 0;
  CHECK_FALSE(redis->scan_keys("nurture:{*}:lead:L", 100, [&](std::vector<std::string>& page) {
    found += static_cast<int>(page.size());
    return true;
  }).is_error());
  CHECK(found == 64);
}

namespace {

// The drip of daemon_campaign.hpp on the cluster, with 16 partitions spread over the three masters.
struct ClusterCampaign : DaemonCampaign {
  explicit ClusterCampaign(const RedisCluster& cluster, int leads, const std::string& extra_config = "")
      : DaemonCampaign(cluster.url(), leads) {
    std::string config = read_file(campaign / "nurture.yaml");
    config.replace(config.find("partitions: 4"), 13, "partitions: 16");
    write_file(campaign / "nurture.yaml", config + extra_config);
  }

  // The `sent` count of each email step (`nurture report`, the store's own counters).
  std::vector<int> sent_counts() const {
    const fs::path out = dir / "report.json";
    fs::remove(out);  // run_command appends
    REQUIRE_MESSAGE(run_command({NURTURE_BINARY, "report", "--format", "json", "--config",
                                 (campaign / "nurture.yaml").string()},
                                out, campaign) == 0,
                    read_file(out));
    std::vector<int> counts;
    const auto report = nlohmann::json::parse(read_file(out));
    for (const auto& step : report["workflows"][0]["steps"]) {
      if (step["action"] == "email") counts.push_back(step["sent"].get<int>());
    }
    return counts;
  }

  // Each step sent exactly once per lead by the counters: a send made twice (a dispatch record lost in a failover,
  // an action taken over and sent again) counts twice, which the files, named by action id, cannot show. Results
  // are recorded after the files are written (and, with `durability: replicated`, may wait for a replica), so the
  // counts are awaited first, then read again a second later.
  void check_sent_once() const {
    const std::vector<int> expected{leads, leads};
    const auto deadline = steady_clock::now() + seconds(60);
    while (sent_counts() != expected && steady_clock::now() < deadline) std::this_thread::sleep_for(milliseconds(250));
    std::this_thread::sleep_for(seconds(1));
    const std::vector<int> counts = sent_counts();
    CHECK_MESSAGE(counts == expected, fmt::format("sent {} of {} per step\n", fmt::join(counts, ","), leads)
                                           << read_file(dir / "daemon.log"));
  }
};

// Adds lead.created for L{first}..L{first+count-1} in small pipelines, `pause` apart: events that keep coming.
void emit_slowly(const std::string& url, int first, int count, milliseconds pause) {
  for (int at = first; at < first + count; at += 25) {
    DaemonCampaign::emit_leads(url, at, std::min(25, first + count - at));
    std::this_thread::sleep_for(pause);
  }
}

}  // namespace

TEST_CASE("on Redis Cluster timers due in hours wait in buckets on their partition's master and fire when due") {
  using namespace nurture::engine;
  TempDir dir;
  RedisCluster cluster(dir.path());
  RedisStore store(cluster.connect(), RedisStoreOptions{"nurture:", 16, "test", hours(24), hours(24)});
  store.prepare();
  const TimePoint t0 = from_unix_ms(1'700'000'000'000);
  const TimePoint due = t0 + hours(3);
  for (int i = 0; i < 20; ++i) {
    LeadSnapshot before;
    before.id = fmt::format("L{}", i);
    Transition t;
    t.decided_at = t0;
    t.lead = before;
    t.lead.enrollments["welcome"].seq = 1;
    t.timers_to_add.push_back({TimerRef{before.id, "welcome", 1}, due});
    REQUIRE(store.commit(before, t, "", "") == CommitOutcome::committed);
  }
  Keys keys("nurture:");
  const int p = partition_of("L0", 16);
  const std::string index = keys.timers(p) + ":b";
  CHECK(cluster.ask(cluster.master_of(index), {"ZCARD", index}).integer == 1);
  CHECK(cluster.ask(cluster.master_of(keys.timers(p)), {"ZCARD", keys.timers(p)}).integer == 0);
  CHECK(store.timer_due(TimerRef{"L0", "welcome", 1}) == due);
  CHECK(store.due_timers(t0 + hours(1), 100).empty());
  CHECK(store.due_timers(due - minutes(1), 100).empty());  // filed again: now in the sorted sets
  const auto fired = store.due_timers(due, 100);
  CHECK(fired.size() == 20);
  CHECK(cluster.ask(cluster.master_of(index), {"EXISTS", index}).integer == 0);
}

TEST_CASE("the daemon runs a drip on Redis Cluster fed through three front-door streams, and validate accepts the cluster URL") {
  TempDir dir;
  RedisCluster cluster(dir.path());
  ClusterCampaign c(cluster, 200, "events: { streams: 3 }\n");
  CHECK(run_command({NURTURE_BINARY, "validate", c.campaign.string()}, c.dir / "validate.log") == 0);
  auto daemon = c.start({"--consumer", "box"});
  // Lead i's events on stream i mod 3 (nurture:events, nurture:events:1, nurture:events:2), on different masters.
  auto producer = cluster.connect();
  std::vector<Command> adds;
  for (int i = 0; i < 200; ++i) {
    adds.push_back({"XADD", Keys("nurture:").events(i % 3), "*", "type", "lead.created", "lead", fmt::format("L{}", i),
                    "attrs", fmt::format(R"({{"email":"l{}@example.com"}})", i)});
  }
  for (const auto& reply : producer->pipeline(adds)) REQUIRE_FALSE(reply.is_error());
  CHECK_MESSAGE(c.wait_delivered(2 * 200, seconds(60)) == 2 * 200, read_file(c.dir / "daemon.log"));
  std::this_thread::sleep_for(milliseconds(300));
  c.check_every_action_once();
  c.check_sent_once();
  // The leads are spread over the three masters.
  Keys keys("nurture:");
  std::set<int> masters;
  for (int p = 0; p < 16; ++p) masters.insert(cluster.master_of(keys.lead(p, "x")));
  CHECK(masters.size() == 3);
  CHECK(daemon->stop(SIGTERM) == 0);
}

TEST_CASE("three engine processes on Redis Cluster split the partitions, and one killed mid-run is taken over") {
  TempDir dir;
  RedisCluster cluster(dir.path());
  const int leads = 300;
  ClusterCampaign c(cluster, leads, "workers: 1\n");
  std::vector<std::unique_ptr<ChildProcess>> engines;
  for (const char* name : {"a", "b", "c"}) engines.push_back(c.start({"--consumer", name, "--lease", "2s"}));
  std::thread producer([&] { emit_slowly(cluster.url(), 0, leads, milliseconds(40)); });
  std::this_thread::sleep_for(milliseconds(500));
  // All three say they are alive, so the partitions' timers and outboxes are split three ways; b dies holding its
  // share of the 2 s waits, which the others fire after its lease.
  const auto live = cluster.connect()->command({"ZRANGE", "nurture:engines", "0", "-1"});
  std::set<std::string> names;
  for (const auto& element : live.elements) names.insert(element.text);
  CHECK(names == std::set<std::string>{"a", "b", "c"});
  CHECK(engines[1]->stop(SIGKILL) == 128 + SIGKILL);
  producer.join();
  CHECK_MESSAGE(c.wait_delivered(2 * leads, seconds(60)) == 2 * leads, read_file(c.dir / "daemon.log"));
  std::this_thread::sleep_for(milliseconds(500));
  c.check_every_action_once();
  c.check_sent_once();
  CHECK(engines[0]->stop(SIGTERM) == 0);
  CHECK(engines[2]->stop(SIGTERM) == 0);
}

TEST_CASE("a master killed mid-run on Redis Cluster: its replica takes over, the daemon goes on, no acknowledged event is lost with durability replicated") {
  TempDir dir;
  RedisCluster cluster(dir.path());
  const int leads = 300;
  ClusterCampaign c(cluster, leads, "durability: replicated\n");
  auto daemon = c.start({"--consumer", "box"});
  std::thread producer([&] { emit_slowly(cluster.url(), 0, leads, milliseconds(40)); });
  std::this_thread::sleep_for(milliseconds(600));
  Keys keys("nurture:");
  const int victim = cluster.master_of(keys.lead(3, "x"));
  cluster.kill(victim);
  producer.join();
  CHECK(cluster.wait_healthy(seconds(30)));
  CHECK_FALSE(cluster.master_of(keys.lead(3, "x")) == victim);
  // The promoted replica has no replica of its own, so `replicated` holds its partitions' commits until the old
  // master is back, as its replica (as an operator would bring it back).
  cluster.restart(victim);
  CHECK_MESSAGE(c.wait_delivered(2 * leads, seconds(90)) == 2 * leads, read_file(c.dir / "daemon.log"));
  std::this_thread::sleep_for(milliseconds(500));
  c.check_every_action_once();
  c.check_sent_once();
  CHECK(read_file(c.dir / "daemon.log").find("retrying in") != std::string::npos);  // the dead master was felt
  CHECK(daemon->running());
  CHECK(daemon->stop(SIGTERM) == 0);
}

TEST_CASE("slots resharded on Redis Cluster while events flow: nothing is lost") {
  TempDir dir;
  RedisCluster cluster(dir.path());
  const int leads = 300;
  ClusterCampaign c(cluster, leads);
  auto daemon = c.start({"--consumer", "box"});
  std::thread producer([&] { emit_slowly(cluster.url(), 0, leads, milliseconds(40)); });
  std::this_thread::sleep_for(milliseconds(300));
  Keys keys("nurture:");
  const int from = cluster.master_of(keys.lead(0, "x"));
  int to = (from + 1) % cluster.nodes();
  while (!cluster.is_master(to) || to == from) to = (to + 1) % cluster.nodes();
  CHECK(cluster.reshard(from, to, 3000) == 0);
  producer.join();
  CHECK_MESSAGE(c.wait_delivered(2 * leads, seconds(60)) == 2 * leads, read_file(c.dir / "daemon.log"));
  std::this_thread::sleep_for(milliseconds(500));
  c.check_every_action_once();
  c.check_sent_once();
  CHECK(daemon->stop(SIGTERM) == 0);
}
