// What operators ask for by name: `nurture workflow list|pause|resume`, `nurture lead remove|erase`. Each talks to
// the store the daemon uses; the daemon sees a pause within a second (engine/runtime/paused_workflows.hpp).

#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/cli/command.hpp"
#include "engine/core/clock.hpp"
#include "engine/runtime/report.hpp"
#include "text/address.hpp"
#include "workflows/campaign.hpp"

namespace nurture::cli {

namespace {

using engine::Store;
constexpr int max_commit_attempts = 16;

struct Opened {
  CliStore store;
  workflows::Campaign campaign;
};

// The store and the campaign of its nurture.yaml (operations name workflows, which must exist).
tl::expected<Opened, CommandError> open_campaign_store(const StoreFlags& flags) {
  auto store = open_cli_store(flags.redis, flags.config);
  if (!store) return tl::unexpected(store.error());
  auto campaign = load_store_campaign(*store);
  if (!campaign) return tl::unexpected(campaign.error());
  return Opened{std::move(*store), std::move(*campaign)};
}

tl::expected<void, CommandError> check_workflow(const workflows::Campaign& campaign, const std::string& workflow) {
  std::string known;
  for (const auto& w : campaign.workflows) {
    if (w.id == workflow) return {};
    known += (known.empty() ? "" : ", ") + w.id;
  }
  return stop(1, Error{fmt::format("no workflow \"{}\"", workflow), {"workflows/"}, "the workflows are: " + known});
}

int workflow_list(const StoreFlags& flags, bool json) {
  auto opened = open_campaign_store(flags);
  if (!opened) return say(opened.error());
  Store& store = *opened->store.store;
  const auto paused = store.paused_workflows();
  std::map<std::string, engine::CounterMap> counters;
  for (const auto& w : opened->campaign.workflows) counters[w.id] = store.workflow_counters(w.id);
  const auto report = engine::build_report(opened->campaign, counters);
  if (!json) std::cout << fmt::format("{:<24} {:<8} {:<22} {:>9} {:>9}\n", "WORKFLOW", "STATE", "SINCE", "ENTERED", "ACTIVE");
  for (const auto& w : report) {
    const auto since = paused.find(w.workflow);
    const std::string state = since == paused.end() ? "running" : "paused";
    const std::string at = since == paused.end() ? "" : engine::format_rfc3339(since->second);
    if (json) {
      nlohmann::ordered_json row{{"workflow", w.workflow}, {"state", state}, {"entered", w.entered}, {"active", w.active}};
      row["paused_since"] = at.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(at);
      std::cout << row.dump() << "\n";
    } else {
      std::cout << fmt::format("{:<24} {:<8} {:<22} {:>9} {:>9}\n", w.workflow, state, at.empty() ? "-" : at,
                               w.entered, w.active);
    }
  }
  return 0;
}

int workflow_pause(const StoreFlags& flags, const std::string& workflow, bool pause) {
  auto opened = open_campaign_store(flags);
  if (!opened) return say(opened.error());
  if (auto known = check_workflow(opened->campaign, workflow); !known) return say(known.error());
  Store& store = *opened->store.store;
  const auto paused = store.paused_workflows();
  const auto was = paused.find(workflow);
  if (pause) {
    if (was != paused.end()) {
      std::cout << fmt::format("{} was already paused (since {})\n", workflow, engine::format_rfc3339(was->second));
    }
    store.pause_workflow(workflow, engine::RealClock().now());  // again: completes a pause a crash cut short
    if (was == paused.end()) {
      std::cout << fmt::format("paused {}: it enrolls no one and sends nothing; due timers and sends wait for "
                               "`nurture workflow resume {}`\n", workflow, workflow);
    }
    return 0;
  }
  const Store::Released released = store.resume_workflow(workflow);
  std::cout << fmt::format("{} {}: {} timer(s) and {} send(s) held during the pause go on now\n",
                           was == paused.end() ? "was not paused;" : "resumed", workflow, released.timers,
                           released.actions);
  return 0;
}

int lead_remove(const StoreFlags& flags, const std::string& lead, const std::string& workflow) {
  auto opened = open_campaign_store(flags);
  if (!opened) return say(opened.error());
  Store& store = *opened->store.store;
  const engine::Interpreter interpreter(opened->campaign);
  const engine::RealClock clock;
  for (int attempt = 0; attempt < max_commit_attempts; ++attempt) {
    const engine::LeadSnapshot before = store.load_lead(lead);
    if (before.version == 0) return say(1, Error{fmt::format("no lead \"{}\"", lead), {}, "see `nurture lead list`"});
    const auto enrollment = before.enrollments.find(workflow);
    if (enrollment == before.enrollments.end() || !enrollment->second.active()) {
      return say(1, Error{fmt::format("lead \"{}\" is not active in workflow \"{}\"", lead, workflow), {},
                          fmt::format("see `nurture lead show {}`", lead)});
    }
    const std::string step = engine::StepNames(store).of(workflow, enrollment->second);
    const engine::Transition removed = interpreter.remove_from(before, workflow, clock.now());
    if (store.commit(before, removed, "", "") == engine::CommitOutcome::committed) {
      std::cout << fmt::format("removed {} from {} (it was at step {}); nothing more is sent to it from there\n",
                               lead, workflow, step);
      return 0;
    }
  }
  return say(1, Error{fmt::format("lead \"{}\" kept changing; try again", lead)});
}

int lead_erase(const StoreFlags& flags, const std::string& lead) {
  auto opened = open_cli_store(flags.redis, flags.config);
  if (!opened) return say(opened.error());
  Store& store = *opened->store;
  const engine::LeadSnapshot found = store.load_lead(lead);
  std::vector<std::string> hashes;
  std::string address;
  if (found.attrs.is_object() && found.attrs.contains("email") && found.attrs["email"].is_string()) {
    address = found.attrs["email"].get<std::string>();
    hashes.push_back(text::address_hash(address));
  }
  const Store::Erased erased = store.erase_lead(lead, hashes);
  if (!address.empty()) store.unsuppress("email", address);  // only the hash is kept
  if (!erased.lead && erased.timers + erased.actions + erased.events + erased.remembered == 0) {
    std::cout << fmt::format("nothing is stored about lead {}\n", lead);
    return 0;
  }
  std::cout << fmt::format("erased lead {}:\n", lead);
  std::cout << fmt::format("  state and history: {}\n", erased.lead ? "removed" : "none stored");
  std::cout << fmt::format("  timers: {}\n  pending actions: {}\n  events: {}\n  remembered message ids: {}\n",
                           erased.timers, erased.actions, erased.events, erased.remembered);
  std::cout << (hashes.empty() ? std::string("  no address was stored\n")
                               : fmt::format("  its address is kept only as {} in the suppression list\n",
                                             hashes.front().substr(0, 19) + "..."));
  return 0;
}

}  // namespace

Command add_workflow(CLI::App& app) {
  struct Flags {
    std::string workflow;
    bool json = false;
    StoreFlags store;
  };
  auto flags = std::make_shared<Flags>();
  auto* command = app.add_subcommand("workflow", "list, pause and resume workflows");
  command->require_subcommand(1);
  auto* list = command->add_subcommand("list", "every workflow: running or paused, entered, active");
  list->add_flag("--json", flags->json, "print one JSON object per workflow");
  auto* pause = command->add_subcommand("pause", "stop a workflow: no enrollments, no sends; timers wait");
  auto* resume = command->add_subcommand("resume", "let a paused workflow go on: what waited runs now, in order");
  for (auto* sub : {pause, resume}) sub->add_option("workflow", flags->workflow, "workflow id")->required();
  for (auto* sub : {list, pause, resume}) add_store_options(sub, flags->store);
  return {command, [flags, list, pause] {
            if (*list) return workflow_list(flags->store, flags->json);
            return workflow_pause(flags->store, flags->workflow, static_cast<bool>(*pause));
          }};
}

std::function<std::optional<int>()> add_lead_changes(CLI::App& lead_command) {
  struct Flags {
    std::string lead, workflow;
    StoreFlags store;
  };
  auto flags = std::make_shared<Flags>();
  auto* remove = lead_command.add_subcommand("remove", "end a lead's enrollment in a workflow (reason removed)");
  remove->add_option("lead", flags->lead, "lead id")->required();
  remove->add_option("--workflow", flags->workflow, "the workflow it leaves")->required();
  auto* erase = lead_command.add_subcommand(
      "erase", "delete everything stored about a lead (GDPR erasure); its address is kept only as a hash");
  erase->add_option("lead", flags->lead, "lead id")->required();
  for (auto* sub : {remove, erase}) add_store_options(sub, flags->store);
  return [flags, remove, erase]() -> std::optional<int> {
    if (*remove) return lead_remove(flags->store, flags->lead, flags->workflow);
    if (*erase) return lead_erase(flags->store, flags->lead);
    return std::nullopt;
  };
}

}  // namespace nurture::cli
