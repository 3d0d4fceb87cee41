// Commands that read what happened: report (the funnel per workflow), lead show.

#include <fstream>
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/cli/command.hpp"
#include "engine/runtime/report.hpp"
#include "workflows/campaign.hpp"

namespace nurture::cli {

namespace {

int report(const std::string& workflow, const std::string& format, const std::string& html, const std::string& redis_flag,
           const std::string& config_path) {
  auto opened = open_cli_store(redis_flag, config_path);
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
  try {
    for (const auto& w : load.campaign.workflows) {
      if (workflow.empty() || w.id == workflow) counters[w.id] = opened->store->workflow_counters(w.id);
    }
  } catch (const engine::StoreUnavailable& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 3;
  }
  auto report = engine::build_report(load.campaign, counters);
  if (!workflow.empty()) {
    std::erase_if(report, [&](const engine::WorkflowReport& r) { return r.workflow != workflow; });
  }
  if (!html.empty()) {
    std::ofstream out(html);
    out << engine::report_html(report, "nurture report: " + load.campaign.dir.filename().string());
    if (!out) {
      std::cerr << fmt::format("error: cannot write {}\n", html);
      return 1;
    }
  }
  std::cout << (format == "json" ? engine::report_json(report).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n" : engine::report_table(report));
  return 0;
}

// `nurture lead show L`: what the engine knows of one lead, as people read it (or JSON).
int lead_show(const std::string& lead_id, bool as_json, const std::string& redis_flag, const std::string& config_path) {
  auto opened = open_cli_store(redis_flag, config_path);
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
  std::cout << fmt::format("lead {}  score {}  stage {}\n", lead.id, std::lround(lead.score),
                           lead.stage.empty() ? "-" : lead.stage);
  for (const auto& [name, value] : lead.attrs.items()) std::cout << fmt::format("  {} = {}\n", name, value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  if (!lead.tags.empty()) std::cout << fmt::format("  tags: {}\n", fmt::join(lead.tags, ", "));
  if (!lead.suppressed.empty()) std::cout << fmt::format("  suppressed on: {}\n", fmt::join(lead.suppressed, ", "));
  for (const auto& e : out["enrollments"]) {
    std::cout << fmt::format("  {} (version {}, enrollment {}): {} at {}, entered {}\n", e["workflow"].get<std::string>(),
                             e["version"].get<int>(), e["number"].get<int>(), e["status"].get<std::string>(),
                             e["step"].get<std::string>(), e["entered"].get<std::string>());
  }
  for (const auto& h : out["history"]) {
    std::cout << fmt::format("  {} {}{}\n", h["at"].get<std::string>(), h["type"].get<std::string>(),
                             h["step"].get<std::string>().empty() ? "" : " (" + h["workflow"].get<std::string>() + "/" + h["step"].get<std::string>() + ")");
  }
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
  return {command, [flags] { return lead_show(flags->lead, flags->json, flags->store.redis, flags->store.config); }};
}

}  // namespace nurture::cli
