// The daemon under abuse, in real processes and real seconds: killed with SIGKILL again and again while events
// flow, its Redis restarted under it, two engines sharing one Redis with one of them killed. Afterwards every lead
// got every email exactly once: the `file` connector names each file by action id, so a lost action is a missing
// file and a double send, which would need a crash between the provider's accept and our record, is counted.

#include <signal.h>

#include <set>
#include <thread>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "engine/identity.hpp"
#include "engine/store/redis/redis_store.hpp"
#include "tests/support/fixtures.hpp"

using namespace nurture::testing;
using namespace std::chrono;
namespace fs = std::filesystem;

namespace {

constexpr int leads = 100;

struct Campaign {
  TempDir dir;
  fs::path campaign = dir / "campaign";
  int starts = 0;

  int status_port = free_tcp_port();

  explicit Campaign(const std::string& redis = "auto") {
    write_campaign(campaign, {fmt::format(R"(redis: "{}"
tracking: {{ listen: "127.0.0.1:{}" }}
partitions: 4
sender: {{ from: "Acme <hello@acme.example>", postal_address: "1 Main St" }}
defaults: {{ email: outbox }}
connectors:
  outbox: {{ type: file, dir: ./outbox }}
)",
                                          redis, status_port),
                              {{"welcome", two_email_drip("2s")}},
                              {{"welcome", email_template("Hi {{lead.id}}", "<p>hi</p>")},
                               {"tips", email_template("Tips", "<p>tips</p>")}}});
  }

  std::unique_ptr<ChildProcess> start(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv{NURTURE_BINARY, "run", campaign.string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    const fs::path log = dir / "daemon.log";
    const auto before = count_in_log(log);
    auto daemon = std::make_unique<ChildProcess>(argv, log);
    const auto deadline = steady_clock::now() + seconds(20);
    while (count_in_log(log) == before) {
      REQUIRE_MESSAGE(daemon->running(), read_file(log));
      REQUIRE_MESSAGE(steady_clock::now() < deadline, read_file(log));
      std::this_thread::sleep_for(milliseconds(10));
    }
    return daemon;
  }

  static std::size_t count_in_log(const fs::path& log) {
    const std::string text = read_file(log);
    std::size_t n = 0;
    for (auto pos = text.find("nurture running"); pos != std::string::npos; pos = text.find("nurture running", pos + 1)) ++n;
    return n;
  }

  std::string socket_url() const { return "unix://" + (campaign / ".nurture/redis.sock").string(); }

  void emit_all(const std::string& url) {
    auto connection = nurture::engine::redis::RedisConnection::open(url);
    REQUIRE(connection);
    std::vector<nurture::engine::redis::Command> commands;
    for (int i = 0; i < leads; ++i) {
      commands.push_back({"XADD", "nurture:events", "*", "type", "lead.created", "lead", fmt::format("L{}", i),
                          "attrs", fmt::format(R"({{"email":"l{}@example.com"}})", i)});
    }
    for (const auto& reply : (*connection)->pipeline(commands)) REQUIRE_FALSE(reply.is_error());
  }

  std::size_t delivered() const {
    std::size_t n = 0;
    if (!fs::exists(campaign / "outbox")) return 0;
    for (const auto& f : fs::directory_iterator(campaign / "outbox")) n += f.path().extension() == ".eml";
    return n;
  }

  std::size_t wait_delivered(std::size_t count, seconds timeout) const {
    const auto deadline = steady_clock::now() + timeout;
    while (delivered() < count && steady_clock::now() < deadline) std::this_thread::sleep_for(milliseconds(50));
    return delivered();
  }

  // Every file is the action id of one lead's email at one step: all 2 x leads of them, none else.
  void check_every_action_once() const {
    std::set<std::string> expected;
    for (int i = 0; i < leads; ++i) {
      for (const char* step : {"hello", "tips"}) {
        expected.insert(nurture::engine::action_id(fmt::format("L{}", i), "welcome", 1, 1, step, 1) + ".eml");
      }
    }
    // Only delivered messages: a kill in the middle of a write may leave the connector's hidden temporary file.
    std::set<std::string> found;
    std::string unexpected;
    for (const auto& f : fs::directory_iterator(campaign / "outbox")) {
      const std::string name = f.path().filename().string();
      if (name.front() == '.') continue;
      found.insert(name);
      if (!expected.count(name)) unexpected += name + " ";
    }
    CHECK_MESSAGE(found == expected, "unexpected: " << unexpected << " found " << found.size());
  }
};

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
  CHECK(not_ready.body == "not ready: Redis does not answer\n");
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

TEST_CASE("two engines on one Redis share the work; when one is killed the other takes over what it held") {
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
