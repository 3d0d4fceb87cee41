// Commands that read what happened: report (the funnel per workflow), lead show, lead list.

#include <fstream>
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/cli/command.hpp"
#include "engine/runtime/report.hpp"
#include "workflows/campaign.hpp"
#include "workflows/duration.hpp"
#include "workflows/graph.hpp"

namespace nurture::cli {

namespace {

int report(const std::string& workflow, const std::string& format, const std::string& html, const std::string& redis_flag,
           const std::string& config_path) {
  auto opened = open_cli_store(redis_flag, config_path, StoreUse::read);
  if (!opened) return say(opened.error());
  if (!opened->config) {
    std::cerr << "error: report needs the campaign's nurture.yaml (run it in the campaign directory or pass --config)\n";
    return 2;
  }
  auto load = workflows::load_campaign(opened->config->base_dir, opened->config->file);
  for (const auto& d : load.diagnostics) {
    if (d.severity == workflows::Severity::error) std::cerr << d.format() << "\n";
  }
  if (!load.ok()) return 1;
  if (!workflow.empty() && !load.campaign.workflow(workflow)) {
    std::cerr << fmt::format("error: no workflow \"{}\" in {}\n", workflow, load.campaign.dir.string());
    return 2;
  }
  std::map<std::string, engine::CounterMap> counters;
  std::map<std::string, std::vector<int>> versions;
  try {
    for (const auto& w : load.campaign.workflows) {
      if (!workflow.empty() && w.id != workflow) continue;
      counters[w.id] = opened->store->workflow_counters(w.id);
      versions[w.id] = opened->store->workflow_versions(w.id);
    }
  } catch (const engine::StoreUnavailable& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 3;
  }
  auto report = engine::build_report(load.campaign, counters, versions);
  if (!workflow.empty()) {
    std::erase_if(report, [&](const engine::WorkflowReport& r) { return r.workflow != workflow; });
  }
  std::vector<engine::BroadcastReport> broadcasts;
  try {
    if (workflow.empty()) broadcasts = engine::build_broadcast_report(load.campaign, *opened->store, engine::RealClock().now());
  } catch (const engine::StoreUnavailable& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 3;
  }
  if (!html.empty()) {
    std::ofstream out(html);
    out << engine::report_html(report, "nurture report: " + load.campaign.dir.filename().string(), broadcasts);
    if (!out) {
      std::cerr << fmt::format("error: cannot write {}\n", html);
      return 1;
    }
  }
  if (format == "json") {
    auto json = engine::report_json(report);
    // Beyond the report's documented shape (additive): the broadcasts.
    if (!broadcasts.empty()) json["broadcasts"] = engine::broadcast_report_json(broadcasts);
    std::cout << json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    std::cout << engine::report_table(report) << engine::broadcast_report_table(broadcasts);
  }
  return 0;
}

// How scores come about, beside a lead's: each rule and the decay, so a 49.9 under a threshold of 50 explains itself.
void print_scoring(const workflows::Scoring& scoring) {
  if (scoring.rules.empty()) return;
  std::vector<std::string> rules;
  for (const auto& rule : scoring.rules) {
    rules.push_back(fmt::format("{} {:+g}", rule.event.empty() ? "attr." + rule.attr : rule.event, rule.points));
  }
  std::cout << fmt::format("  score rules: {}{}\n", fmt::join(rules, ", "),
                           scoring.half_life ? "; halves every " + workflows::format_duration(*scoring.half_life)
                                             : std::string("; no decay"));
  for (const auto& stage : scoring.stages) std::cout << fmt::format("  stage {} when {}\n", stage.name, workflows::describe(stage.condition));
}

// `nurture lead show L`: what the engine knows of one lead, as people read it (or JSON).
int lead_show(const std::string& lead_id, bool as_json, const std::string& redis_flag, const std::string& config_path) {
  auto opened = open_cli_store(redis_flag, config_path, StoreUse::read);
  if (!opened) return say(opened.error());
  engine::LeadSnapshot lead;
  try {
    lead = opened->store->load_lead(lead_id);
  } catch (const engine::StoreUnavailable& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 3;
  }
  if (lead.version == 0) {
    std::cerr << fmt::format("error: no lead \"{}\"\n", lead_id);
    return 1;
  }
  const nlohmann::ordered_json out = engine::lead_profile_json(lead, *opened->store);
  if (as_json) {
    std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return 0;
  }
  std::cout << fmt::format("lead {}  score {:.1f} (as of {})  stage {}\n", lead.id, engine::score_shown(lead.score),
                           out["score_at"].get<std::string>(), lead.stage.empty() ? "-" : lead.stage);
  if (opened->config) {
    if (auto campaign = load_store_campaign(*opened)) print_scoring(campaign->scoring);
  }
  for (const auto& [name, value] : lead.attrs.items()) std::cout << fmt::format("  {} = {}\n", name, value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  if (!lead.stage_history.empty()) {
    std::vector<std::string> moves;
    for (const auto& s : out["stage_history"]) moves.push_back(fmt::format("{} ({})", s["stage"].get<std::string>(), s["at"].get<std::string>()));
    std::cout << fmt::format("  stages: {}\n", fmt::join(moves, " -> "));
  }
  if (!lead.tags.empty()) std::cout << fmt::format("  tags: {}\n", fmt::join(lead.tags, ", "));
  if (!lead.suppressed.empty()) std::cout << fmt::format("  suppressed on: {}\n", fmt::join(lead.suppressed, ", "));
  if (!lead.segments.empty()) std::cout << fmt::format("  segments: {}\n", fmt::join(lead.segments, ", "));
  if (!lead.broadcasts.empty()) {
    std::vector<std::string> given;
    for (const auto& [broadcast, variant] : lead.broadcasts) {
      given.push_back(variant >= 0 ? fmt::format("{} (variant {})", broadcast, variant + 1) : broadcast);
    }
    std::cout << fmt::format("  broadcasts: {}\n", fmt::join(given, ", "));
  }
  for (const auto& e : out["enrollments"]) {
    std::cout << fmt::format("  {} (version {}, enrollment {}): {} at {}, entered {}\n", e["workflow"].get<std::string>(),
                             e["version"].get<int>(), e["number"].get<int>(), e["status"].get<std::string>(),
                             e["step"].get<std::string>(), e["entered"].get<std::string>());
    if (e.contains("until")) {
      std::cout << fmt::format("    waits for {} until {} ({})\n", e["waits_for"].get<std::string>(),
                               e["until_local"].get<std::string>(), e["until"].get<std::string>());
    }
  }
  for (const auto& h : out["history"]) {
    std::cout << fmt::format("  {} {}{}\n", h["at"].get<std::string>(), h["type"].get<std::string>(),
                             h["step"].get<std::string>().empty() ? "" : " (" + h["workflow"].get<std::string>() + "/" + h["step"].get<std::string>() + ")");
  }
  return 0;
}

struct LeadFilter {
  std::string workflow, step, stage, segment;
  int limit = 50;
  bool json = false;
};

// `nurture lead list`: the leads that pass every filter given, by id. Reads every stored lead (a SCAN): a tool for
// people, not for the hot path.
int lead_list(const LeadFilter& filter, const StoreFlags& flags) {
  auto opened = open_cli_store(flags.redis, flags.config, StoreUse::read);
  if (!opened) return say(opened.error());
  if (!filter.step.empty() && filter.workflow.empty()) {
    return say(2, Error{"--step needs --workflow", {}, "e.g. --workflow welcome --step tips"});
  }
  std::unique_ptr<SegmentMembership> membership;
  if (!filter.segment.empty()) {  // membership now, as `segment show` computes it
    auto opened_membership = SegmentMembership::open(*opened, filter.segment);
    if (!opened_membership) return say(opened_membership.error());
    membership = std::move(*opened_membership);
  }
  engine::StepNames steps(*opened->store);
  const engine::TimePoint now = engine::RealClock().now();
  std::vector<nlohmann::ordered_json> found;
  try {
    opened->store->scan_leads(1000, [&](std::vector<engine::LeadSnapshot>& leads) {
      for (const auto& lead : leads) {
        if (!filter.stage.empty() && lead.stage != filter.stage) continue;
        if (!filter.workflow.empty()) {
          auto it = lead.enrollments.find(filter.workflow);
          if (it == lead.enrollments.end() || !it->second.active()) continue;
          if (!filter.step.empty() && steps.of(filter.workflow, it->second) != filter.step) continue;
        }
        if (membership && !membership->of(lead, now).count(filter.segment)) continue;
        nlohmann::ordered_json row;
        row["lead"] = lead.id;
        row["email"] = lead.attrs.value("email", nlohmann::json(nullptr));
        row["stage"] = lead.stage.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(lead.stage);
        row["score"] = engine::score_shown(lead.score);
        row["workflows"] = nlohmann::ordered_json::object();
        for (const auto& [workflow, e] : lead.enrollments) {
          if (e.active()) row["workflows"][workflow] = steps.of(workflow, e);
        }
        found.push_back(std::move(row));
      }
      return true;
    });
  } catch (const engine::StoreUnavailable& e) {
    return say(3, Error{e.what()});
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a["lead"] < b["lead"]; });
  const std::size_t shown = std::min(found.size(), static_cast<std::size_t>(std::max(filter.limit, 0)));
  for (std::size_t i = 0; i < shown; ++i) {
    const auto& row = found[i];
    if (filter.json) {
      std::cout << row.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
      continue;
    }
    std::string at;
    for (const auto& [workflow, step] : row["workflows"].items()) {
      at += fmt::format("{}{}@{}", at.empty() ? "" : " ", workflow, step.get<std::string>());
    }
    std::cout << fmt::format("{:<24} {:<32} {:<10} {:>5}  {}\n", row["lead"].get<std::string>(),
                             row["email"].is_string() ? row["email"].get<std::string>() : "-",
                             row["stage"].is_string() ? row["stage"].get<std::string>() : "-",
                             row["score"].get<long>(), at);
  }
  std::cerr << fmt::format("{} lead(s) match{}\n", found.size(),
                           shown < found.size() ? fmt::format(", the first {} shown (--limit)", shown) : "");
  return 0;
}

}  // namespace

Command add_report(CLI::App& app) {
  struct Flags {
    std::string workflow, html;
    std::string format = "table";
    StoreFlags store;
  };
  auto flags = std::make_shared<Flags>();
  auto* command =
      app.add_subcommand("report", "funnel per workflow and step: entered, sent, opened, clicked, goals");
  command->add_option("--workflow", flags->workflow, "only this workflow");
  command->add_option("--format", flags->format, "table or json")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  command->add_option("--html", flags->html, "also write the report as an HTML page");
  add_store_options(command, flags->store);
  return {command, [flags] {
            return report(flags->workflow, flags->format, flags->html, flags->store.redis, flags->store.config);
          }};
}

Command add_lead(CLI::App& app) {
  struct Flags {
    std::string lead;
    bool json = false;
    StoreFlags store;
  };
  auto flags = std::make_shared<Flags>();
  auto* command = app.add_subcommand("lead", "one lead");
  command->require_subcommand(1);
  auto* show = command->add_subcommand("show", "the lead's profile, score, stage, enrollments and history");
  show->add_option("lead", flags->lead, "lead id")->required();
  show->add_flag("--json", flags->json, "print JSON");
  add_store_options(show, flags->store);
  auto filter = std::make_shared<LeadFilter>();
  auto* list = command->add_subcommand("list", "the leads that match every filter given, by id");
  list->add_option("--workflow", filter->workflow, "active in this workflow");
  list->add_option("--step", filter->step, "at this step of --workflow");
  list->add_option("--stage", filter->stage, "at this stage");
  list->add_option("--segment", filter->segment, "in this segment now");
  list->add_option("--limit", filter->limit, "print at most this many")->capture_default_str();
  list->add_flag("--json", filter->json, "print one JSON object per lead");
  add_store_options(list, flags->store);
  auto changes = add_lead_changes(*command);
  return {command, [flags, filter, list, show, changes] {
            if (*show) return lead_show(flags->lead, flags->json, flags->store.redis, flags->store.config);
            if (*list) return lead_list(*filter, flags->store);
            return changes().value_or(2);
          }};
}

}  // namespace nurture::cli
