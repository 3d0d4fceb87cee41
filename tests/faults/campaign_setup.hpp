#pragma once
// A one-email campaign on a real Redis with a virtual clock, for the fault tests: the connector is the variable.

#include <doctest/doctest.h>

#include "connectors/builtins.hpp"
#include "engine/runtime/engine.hpp"
#include "engine/store/redis/redis_store.hpp"
#include "tests/support/fixtures.hpp"

namespace nurture::testing {

struct FaultCampaign {
  TempDir dir;
  RedisServer redis{dir / "redis"};
  workflows::Campaign campaign;
  std::unique_ptr<templates::TemplateLibrary> library;
  std::unique_ptr<engine::ConnectorSet> connectors;
  std::unique_ptr<engine::redis::RedisStore> store;
  engine::VirtualClock clock{std::chrono::sys_days{std::chrono::year{2026} / std::chrono::March / 2}};

  // `connector_line`: the flow map of connector `main`; `more` adds test connector types to the registry.
  explicit FaultCampaign(const std::string& connector_line, const std::function<void(sdk::Registry&)>& more = {}) {
    write_campaign(dir / "campaign",
                   {"sender: { from: \"Acme <hello@acme.example>\", postal_address: \"1 Main St\" }\n"
                    "defaults: { email: main }\npartitions: 2\nconnectors:\n  main: " +
                        connector_line + "\n",
                    {{"welcome", "workflow: welcome\ntrigger: { event: lead.created }\nsteps:\n"
                                 "  - id: hello\n    email: { template: welcome }\n"}},
                    {{"welcome", email_template("Hi", "<p>Hi</p>")}}});
    campaign = load_campaign_or_fail(dir / "campaign");
    library = std::make_unique<templates::TemplateLibrary>(campaign.templates_dir);
    sdk::Registry registry;
    connectors::register_builtin_connectors(registry);
    if (more) more(registry);
    auto set = engine::ConnectorSet::create(campaign.config, registry);
    REQUIRE(set);
    connectors = std::make_unique<engine::ConnectorSet>(std::move(*set));
    store = open_store();
  }

  std::unique_ptr<engine::redis::RedisStore> open_store() {
    auto opened = std::make_unique<engine::redis::RedisStore>(
        redis.connect(), engine::redis::RedisStoreOptions{"nurture:", 2, "t", std::chrono::hours(24),
                                                          std::chrono::hours(24)});
    opened->prepare();
    return opened;
  }

  void emit(const std::string& type, const std::string& lead, const std::string& attrs = "{}") {
    store->add_event({{"type", type}, {"lead", lead}, {"attrs", attrs}});
  }

  // A counter of the workflow summed over partitions.
  long stat(const std::string& field) {
    long total = 0;
    for (int p = 0; p < 2; ++p) {
      total += std::atol(
          redis.connect()->command({"HGET", fmt::format("nurture:{{{}}}:stats:welcome", p), field}).text.c_str());
    }
    return total;
  }
};

}  // namespace nurture::testing
