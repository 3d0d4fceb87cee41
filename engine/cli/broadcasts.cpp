// `nurture broadcast list|show ID|cancel ID`: the broadcasts of broadcasts/*.yaml, where each stands (scheduled,
// testing, sending, sent, cancelled, passed over) and what it did; cancel stops one for good.

#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/cli/command.hpp"
#include "engine/core/broadcast_plan.hpp"
#include "engine/runtime/report.hpp"
#include "workflows/campaign.hpp"

namespace nurture::cli {

namespace {

struct BroadcastOptions {
  std::string id;
  bool json = false;
  StoreFlags store;
};

int show_broadcasts(const BroadcastOptions& options, bool one) {
  auto opened = open_cli_store(options.store.redis, options.store.config, StoreUse::read);
  if (!opened) return say(opened.error());
  auto campaign = load_store_campaign(*opened);
  if (!campaign) return say(campaign.error());
  if (one && !campaign->broadcast(options.id)) {
    return say(1, Error{fmt::format("no broadcast \"{}\"", options.id), {}, "see `nurture broadcast list`"});
  }
  std::vector<engine::BroadcastReport> report;
  try {
    report = engine::build_broadcast_report(*campaign, *opened->store, engine::RealClock().now());
  } catch (const engine::StoreUnavailable& e) {
    return say(3, Error{e.what()});
  }
  if (one) std::erase_if(report, [&](const engine::BroadcastReport& r) { return r.broadcast != options.id; });
  if (options.json) {
    std::cout << engine::broadcast_report_json(report).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
              << "\n";
    return 0;
  }
  if (one) {
    std::cout << engine::broadcast_report_table(report);
    return 0;
  }
  for (const auto& r : report) {
    std::cout << fmt::format("{:<24} {:<12} {:>8} {:>8}  {} to {}{}\n", r.broadcast, r.state, r.reached, r.sent, r.when,
                             r.segment, r.picked.empty() ? "" : ", the rest got " + r.picked);
  }
  std::cerr << fmt::format("{} broadcast(s); columns: id, state, reached, sent\n", report.size());
  return 0;
}

int cancel_broadcast(const BroadcastOptions& options) {
  auto opened = open_cli_store(options.store.redis, options.store.config, StoreUse::write);
  if (!opened) return say(opened.error());
  auto campaign = load_store_campaign(*opened);
  if (!campaign) return say(campaign.error());
  if (!campaign->broadcast(options.id)) {
    return say(1, Error{fmt::format("no broadcast \"{}\"", options.id), {}, "see `nurture broadcast list`"});
  }
  try {
    opened->store->pause_workflow(engine::broadcast_workflow(options.id), engine::RealClock().now());
  } catch (const engine::StoreUnavailable& e) {
    return say(3, Error{e.what()});
  }
  std::cout << fmt::format("cancelled {}: nothing more is planned, and sends already queued are held and never go "
                           "out (leads it reached keep it)\n",
                           options.id);
  return 0;
}

}  // namespace

Command add_broadcast(CLI::App& app) {
  auto options = std::make_shared<BroadcastOptions>();
  auto* command = app.add_subcommand("broadcast", "the broadcasts of broadcasts/*.yaml: where each stands, and cancel");
  command->require_subcommand(1);
  auto* list = command->add_subcommand("list", "every broadcast: its state, how many it reached and sent");
  list->add_flag("--json", options->json, "print a JSON array");
  add_store_options(list, options->store);
  auto* show = command->add_subcommand("show", "one broadcast: its progress, engagement, revenue and A/B variants");
  show->add_option("id", options->id, "broadcast id")->required();
  show->add_flag("--json", options->json, "print a JSON array of one");
  add_store_options(show, options->store);
  auto* cancel = command->add_subcommand("cancel", "stop a broadcast for good: queued sends are held, never sent");
  cancel->add_option("id", options->id, "broadcast id")->required();
  add_store_options(cancel, options->store);
  return {command, [options, list, show] {
            if (*list) return show_broadcasts(*options, false);
            if (*show) return show_broadcasts(*options, true);
            return cancel_broadcast(*options);
          }};
}

}  // namespace nurture::cli
