// A campaign directory as a whole: config, every workflow, and the references between them.

#include <algorithm>

#include <fmt/format.h>

#include "workflows/campaign.hpp"

namespace nurture::workflows {

namespace fs = std::filesystem;

const Workflow* Campaign::workflow(std::string_view id) const {
  for (const auto& w : workflows) {
    if (w.id == id) return &w;
  }
  return nullptr;
}

namespace {

std::string shown(const fs::path& dir, const fs::path& file) {
  auto relative = file.lexically_relative(dir);
  return relative.empty() || *relative.begin() == ".." ? file.string() : relative.string();
}

void check_references(const Campaign& campaign, const std::vector<Workflow>& workflows, Diagnostics& diagnostics) {
  std::vector<std::string> connector_names;
  for (const auto& c : campaign.config.connectors) connector_names.push_back(c.name);
  for (const auto& workflow : workflows) {
    for (const auto& step : workflow.steps) {
      const auto* email = std::get_if<EmailStep>(&step.action);
      if (!email) continue;
      if (!email->template_name.empty() &&
          !fs::exists(campaign.templates_dir / (email->template_name + ".mustache"))) {
        diagnostics.push_back({Severity::error, email->where,
                               fmt::format("template \"{}\" does not exist", email->template_name),
                               fmt::format("create templates/{}.mustache", email->template_name)});
      }
      if (!email->connector.empty() && !campaign.config.connector(email->connector)) {
        const std::string suggestion = closest_match(email->connector, connector_names);
        diagnostics.push_back({Severity::error, email->where,
                               fmt::format("connector \"{}\" is not configured", email->connector),
                               suggestion.empty() ? "add it under `connectors:` in nurture.yaml"
                                                  : fmt::format("did you mean \"{}\"?", suggestion)});
      }
    }
  }
}

}  // namespace

CampaignLoad load_campaign(const fs::path& dir, const fs::path& config_path) {
  CampaignLoad result;
  Campaign& campaign = result.campaign;
  campaign.dir = fs::absolute(dir).lexically_normal();
  campaign.templates_dir = campaign.dir / "templates";

  const fs::path config_file = config_path.empty() ? campaign.dir / "nurture.yaml" : fs::absolute(config_path);
  if (!fs::exists(config_file)) {
    result.diagnostics.push_back({Severity::error, {shown(campaign.dir, config_file), 0, 0},
                                  "no nurture.yaml", "create one (spec/config.md) or pass --config FILE"});
    return result;
  }
  auto config = load_config(config_file, shown(campaign.dir, config_file));
  if (!config) {
    result.diagnostics = std::move(config.error());
    return result;
  }
  campaign.config = std::move(*config);

  std::vector<fs::path> files;
  if (fs::is_directory(campaign.dir / "workflows")) {
    for (const auto& entry : fs::directory_iterator(campaign.dir / "workflows")) {
      const auto ext = entry.path().extension();
      if (entry.is_regular_file() && (ext == ".yaml" || ext == ".yml")) files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    result.diagnostics.push_back({Severity::error, {shown(campaign.dir, campaign.dir / "workflows"), 0, 0},
                                  "no workflows found", "add workflows/NAME.yaml"});
  }
  std::vector<Workflow> with_errors;  // still checked against templates and connectors, never run
  for (const auto& file : files) {
    Diagnostics found;
    Workflow workflow =
        parse_workflow_file(file, shown(campaign.dir, file), campaign.config.default_email_connector, found);
    result.diagnostics.insert(result.diagnostics.end(), found.begin(), found.end());
    if (has_errors(found)) {
      with_errors.push_back(std::move(workflow));
      continue;
    }
    if (const Workflow* twin = campaign.workflow(workflow.id)) {
      result.diagnostics.push_back({Severity::error, workflow.where,
                                    fmt::format("workflow id \"{}\" is also used by {}", workflow.id,
                                                twin->where.file),
                                    "give each workflow its own id"});
      continue;
    }
    campaign.workflows.push_back(std::move(workflow));
  }
  std::sort(campaign.workflows.begin(), campaign.workflows.end(),
            [](const Workflow& a, const Workflow& b) { return a.id < b.id; });
  check_references(campaign, campaign.workflows, result.diagnostics);
  check_references(campaign, with_errors, result.diagnostics);
  return result;
}

}  // namespace nurture::workflows
