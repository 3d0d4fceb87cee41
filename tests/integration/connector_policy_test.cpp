// The engine's rate limit in the dispatch path: sends over `rate` wait for tokens without spending attempts.
#include <doctest/doctest.h>

#include "connectors/builtins.hpp"
#include "engine/runtime/engine.hpp"
#include "engine/core/identity.hpp"
#include "engine/store/redis/redis_store.hpp"
#include "tests/support/fixtures.hpp"

using namespace nurture;
using namespace nurture::engine;
using namespace std::chrono;

TEST_CASE("a connector's `rate` holds sends back until tokens return, held sends spend no attempt") {
  testing::TempDir dir;
  testing::RedisServer redis(dir / "redis");
  testing::write_campaign(dir / "campaign",
                          {R"(sender: { from: "Acme <hello@acme.example>", postal_address: "1 Main St" }
defaults: { email: outbox }
partitions: 2
connectors:
  outbox: { type: file, dir: ./outbox, rate: "2/m" }
)",
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
  // One attempt only: were a held send counted as an attempt, the third lead would be dead-lettered.
  Engine engine(store, campaign, library, *connectors, clock, RetryPolicy{1, seconds(10), minutes(10)});
  for (int i = 0; i < 5; ++i) {
    store.add_event({{"type", "lead.created"}, {"lead", "L" + std::to_string(i)},
                     {"attrs", R"({"email":"lead)" + std::to_string(i) + R"(@example.com"})"}});
  }
  auto sent = [&] {
    long total = 0;
    for (int p = 0; p < 2; ++p) {
      total += std::atol(redis.connect()->command({"HGET", fmt::format("nurture:{{{}}}:stats:welcome", p), "step:hello:sent"}).text.c_str());
    }
    return total;
  };
  engine.drain();
  CHECK(sent() == 2);
  clock.advance(seconds(31));  // one token back (the held sends are due 30 s after the first try)
  engine.drain();
  CHECK(sent() == 3);
  clock.advance(minutes(2));
  engine.drain();
  CHECK(sent() == 5);
  long failed = 0;
  for (int p = 0; p < 2; ++p) {
    failed += std::atol(redis.connect()->command({"HGET", fmt::format("nurture:{{{}}}:stats:welcome", p), "step:hello:failed"}).text.c_str());
  }
  CHECK(failed == 0);
  CHECK(std::distance(std::filesystem::directory_iterator(dir / "campaign/outbox"), std::filesystem::directory_iterator{}) >= 5);
}
