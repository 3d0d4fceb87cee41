// Redis misbehaving under the engine: paused, out of memory. The engine never hangs and never exits for it; once
// Redis recovers, every lead finishes with nothing lost and nothing sent twice.
#include <doctest/doctest.h>

#include <thread>

#include "connectors/builtins.hpp"
#include "engine/engine.hpp"
#include "engine/store/redis/redis_store.hpp"
#include "tests/support/fixtures.hpp"

using namespace nurture;
using namespace nurture::engine;
using namespace std::chrono;

TEST_CASE("a Redis that stops answering is an error after the command timeout, not a hang; then it recovers") {
  testing::TempDir dir;
  testing::RedisServer redis(dir / "redis");
  auto connection = redis::RedisConnection::open(redis.url(), milliseconds(500));
  REQUIRE(connection);
  // Every client's commands wait for 2 s, as behind a stalled Redis (DEBUG SLEEP is disabled in Redis 7).
  REQUIRE(redis.connect()->command({"CLIENT", "PAUSE", "2000", "ALL"}).text == "OK");
  const auto started = steady_clock::now();
  const auto reply = (*connection)->command({"PING"});
  CHECK(reply.type == redis::RedisReply::Type::io_error);
  CHECK(steady_clock::now() - started < milliseconds(1500));
  std::this_thread::sleep_for(milliseconds(2000));  // the pause is the fault under test: real time
  CHECK((*connection)->command({"PING"}).text == "PONG");  // a new connection, made on the next call
}

TEST_CASE("Redis out of memory mid-run: the engine backs off instead of dying, then finishes every lead once") {
  testing::TempDir dir;
  testing::RedisServer redis(dir / "redis");
  testing::write_campaign(dir / "campaign",
                          {"sender: { from: \"Acme <hello@acme.example>\", postal_address: \"1 Main St\" }\n"
                           "defaults: { email: outbox }\npartitions: 2\nconnectors:\n"
                           "  outbox: { type: file, dir: ./outbox }\n",
                           {{"welcome", "workflow: welcome\ntrigger: { event: lead.created }\nsteps:\n"
                                        "  - id: hello\n    email: { template: welcome }\n"}},
                           {{"welcome", testing::email_template("Hi", "<p>Hi</p>")}}});
  const auto campaign = testing::load_campaign_or_fail(dir / "campaign");
  templates::TemplateLibrary library(campaign.templates_dir);
  sdk::Registry registry;
  connectors::register_builtin_connectors(registry);
  auto connectors = ConnectorSet::create(campaign.config, registry);
  REQUIRE(connectors);
  redis::RedisStore store(redis.connect(), redis::RedisStoreOptions{"nurture:", 2, "t", hours(24), hours(24)});
  store.prepare();
  VirtualClock clock{sys_days{year{2026} / March / 2}};
  Engine engine(store, campaign, library, *connectors, clock);
  for (int i = 0; i < 20; ++i) {
    store.add_event({{"type", "lead.created"}, {"lead", "L" + std::to_string(i)},
                     {"attrs", fmt::format(R"({{"email":"l{}@example.com"}})", i)}});
  }
  // Below what Redis already uses: every write is refused with OOM, as at maxmemory mid-run.
  auto admin = redis.connect();
  admin->command({"CONFIG", "SET", "maxmemory-policy", "noeviction"});
  admin->command({"CONFIG", "SET", "maxmemory", "1"});
  int unavailable = 0;
  for (int pass = 0; pass < 5; ++pass) {
    try {
      engine.run_once();
    } catch (const StoreUnavailable& e) {
      ++unavailable;  // what the daemon's loop catches: it backs off and tries again
      CHECK(std::string(e.what()).find("OOM") != std::string::npos);
    }
  }
  CHECK(unavailable == 5);
  admin->command({"CONFIG", "SET", "maxmemory", "0"});
  engine.drain();
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir / "campaign/outbox")) {
    files += entry.path().extension() == ".eml" ? 1 : 0;
  }
  CHECK(files == 20);  // all of them, and the file connector refuses a second delivery of one action
  long sent = 0;
  for (int p = 0; p < 2; ++p) {
    sent += std::atol(admin->command({"HGET", fmt::format("nurture:{{{}}}:stats:welcome", p), "step:hello:sent"}).text.c_str());
  }
  CHECK(sent == 20);
  CHECK(admin->command({"XLEN", "nurture:events:dead"}).integer == 0);  // refused writes are no poison
}
