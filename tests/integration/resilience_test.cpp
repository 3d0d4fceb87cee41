// The daemon under abuse, in real processes and real seconds: killed with SIGKILL again and again while events
// flow, its Redis restarted under it, two engines sharing one Redis with one of them killed. Afterwards every lead
// got every email exactly once: the `file` connector names each file by action id, so a lost action is a missing
// file and a double send, which would need a crash between the provider's accept and our record, is counted.

#include <signal.h>

#include <fstream>
#include <set>
#include <thread>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "engine/core/identity.hpp"
#include "engine/store/redis/redis_store.hpp"
#include "tests/support/daemon_campaign.hpp"

using namespace nurture::testing;
using namespace std::chrono;
namespace fs = std::filesystem;

namespace {
constexpr int leads = 100;
using Campaign = DaemonCampaign;
}  // namespace

TEST_CASE("killed with SIGKILL five times while events flow, the daemon loses no lead and no email") {
  Campaign c;
  auto daemon = c.start();
  c.emit_all(c.socket_url());
  for (int kill = 0; kill < 5; ++kill) {
    std::this_thread::sleep_for(milliseconds(250 + 150 * kill));
    CHECK(daemon->stop(SIGKILL) == 128 + SIGKILL);
    daemon = c.start();
  }
  CHECK_MESSAGE(c.wait_delivered(2 * leads, seconds(30)) == 2 * leads, read_file(c.dir / "daemon.log"));
  std::this_thread::sleep_for(milliseconds(300));
  c.check_every_action_once();
  CHECK(daemon->stop(SIGTERM) == 0);
}

TEST_CASE("Redis restarted under a running daemon: it waits, resumes, and loses nothing") {
  TempDir redis_dir;
  auto redis = std::make_unique<RedisServer>(redis_dir / "redis");
  const std::string url = redis->url();
  Campaign c(url);
  auto daemon = c.start();
  c.emit_all(url);
  REQUIRE(c.wait_delivered(1, seconds(10)) >= 1);
  CHECK(http_get(c.status_port, "/readyz").status == 200);
  redis.reset();  // SIGTERM: Redis writes its AOF and stops
  std::this_thread::sleep_for(milliseconds(700));
  CHECK(daemon->running());  // the daemon does not crash; it retries with backoff...
  const HttpReply not_ready = http_get(c.status_port, "/readyz");  // ...and says it is not ready
  CHECK(not_ready.status == 503);
  CHECK(not_ready.body.rfind("not ready: ", 0) == 0);  // and why, in Redis's or the socket's words
  CHECK(http_get(c.status_port, "/healthz").status == 200);
  CHECK(http_get(c.status_port, "/metrics").body.find("nurture_store_up 0") != std::string::npos);
  redis = std::make_unique<RedisServer>(redis_dir / "redis");
  CHECK_MESSAGE(c.wait_delivered(2 * leads, seconds(30)) == 2 * leads, read_file(c.dir / "daemon.log"));
  CHECK(http_get(c.status_port, "/readyz").status == 200);
  const std::string metrics = http_get(c.status_port, "/metrics").body;
  CHECK(metrics.find("nurture_store_up 1") != std::string::npos);
  CHECK(metrics.find("nurture_actions_total{connector=\"outbox\",outcome=\"sent\"}") != std::string::npos);
  CHECK(metrics.find("nurture_store_errors_total{loop=\"state\"}") != std::string::npos);  // the outage, counted
  CHECK(metrics.find("nurture_timer_lateness_seconds_count") != std::string::npos);
  CHECK(http_get(c.status_port, "/nope").status == 404);
  c.check_every_action_once();
  CHECK(read_file(c.dir / "daemon.log").find("retrying in") != std::string::npos);
  CHECK(daemon->stop(SIGTERM) == 0);
}

TEST_CASE("two engines on one Redis share the work, when one is killed the other takes over what it held") {
  TempDir redis_dir;
  RedisServer redis(redis_dir / "redis");
  Campaign c(redis.url());
  auto a = c.start({"--consumer", "engine-a", "--lease", "1s"});
  auto b = c.start({"--consumer", "engine-b", "--lease", "1s"});
  c.emit_all(redis.url());
  std::this_thread::sleep_for(milliseconds(150));
  CHECK(a->stop(SIGKILL) == 128 + SIGKILL);
  CHECK_MESSAGE(c.wait_delivered(2 * leads, seconds(30)) == 2 * leads, read_file(c.dir / "daemon.log"));
  c.check_every_action_once();
  CHECK(b->stop(SIGTERM) == 0);
}

TEST_CASE("events a silent engine was given are taken over by another one after its lease") {
  TempDir redis_dir;
  RedisServer redis(redis_dir / "redis");
  Campaign c(redis.url());
  c.emit_all(redis.url());
  // "engine-a" takes half of the events and goes silent (as a hung or killed process would).
  nurture::engine::redis::RedisStore silent(
      redis.connect(), {"nurture:", 4, "engine-a", std::chrono::hours(24), std::chrono::hours(24)});
  silent.prepare();
  REQUIRE(silent.read_events(leads / 2, milliseconds(0)).size() == leads / 2);
  auto b = c.start({"--consumer", "engine-b", "--lease", "1s"});
  CHECK_MESSAGE(c.wait_delivered(2 * leads, seconds(30)) == 2 * leads, read_file(c.dir / "daemon.log"));
  c.check_every_action_once();
  CHECK(read_file(c.dir / "daemon.log").find("took over") != std::string::npos);
  CHECK(b->stop(SIGTERM) == 0);
}

TEST_CASE("workers: 3 runs three engines in one process that split the partitions, and a kill loses nothing") {
  TempDir redis_dir;
  RedisServer redis(redis_dir / "redis");
  Campaign c(redis.url());
  {
    std::ofstream config(c.campaign / "nurture.yaml", std::ios::app);
    config << "workers: 3\n";
  }
  auto daemon = c.start({"--consumer", "box", "--lease", "2s"});
  CHECK(read_file(c.dir / "daemon.log").find("consumer box, 3 worker(s)") != std::string::npos);
  c.emit_all(redis.url());
  std::this_thread::sleep_for(milliseconds(300));
  // The three say they are alive, each under its own name: the partitions' timers and outboxes split among them.
  auto connection = nurture::engine::redis::RedisConnection::open(redis.url());
  REQUIRE(connection);
  const auto live = (*connection)->command({"ZRANGE", "nurture:engines", "0", "-1"});
  std::set<std::string> names;
  for (const auto& element : live.elements) names.insert(element.text);
  CHECK(names == std::set<std::string>{"box", "box-2", "box-3"});
  CHECK(daemon->stop(SIGKILL) == 128 + SIGKILL);
  daemon = c.start({"--consumer", "box", "--lease", "2s"});
  CHECK_MESSAGE(c.wait_delivered(2 * leads, seconds(30)) == 2 * leads, read_file(c.dir / "daemon.log"));
  std::this_thread::sleep_for(milliseconds(300));
  c.check_every_action_once();
  CHECK(daemon->stop(SIGTERM) == 0);
}
