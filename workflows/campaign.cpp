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

void check_template(const Campaign& campaign, const std::string& name, const SourceLocation& where,
                    Diagnostics& diagnostics) {
  if (name.empty() || fs::exists(campaign.templates_dir / (name + ".mustache"))) return;
  diagnostics.push_back({Severity::error, where, fmt::format("template \"{}\" does not exist", name),
                         fmt::format("create templates/{}.mustache", name)});
}

void check_connector(const Campaign& campaign, const std::string& name, const SourceLocation& where,
                     Diagnostics& diagnostics) {
  if (name.empty() || campaign.config.connector(name)) return;
  std::vector<std::string> names;
  for (const auto& c : campaign.config.connectors) names.push_back(c.name);
  const std::string suggestion = closest_match(name, names);
  diagnostics.push_back({Severity::error, where, fmt::format("connector \"{}\" is not configured", name),
                         suggestion.empty() ? "add it under `connectors:` in nurture.yaml"
                                            : fmt::format("did you mean \"{}\"?", suggestion)});
}

void check_references(const Campaign& campaign, const std::vector<Workflow>& workflows, Diagnostics& diagnostics) {
  for (const auto& workflow : workflows) {
    for (const auto& step : workflow.steps) {
      if (const auto* email = std::get_if<EmailStep>(&step.action)) {
        check_template(campaign, email->template_name, email->where, diagnostics);
        check_connector(campaign, email->connector, email->where, diagnostics);
      } else if (const auto* post = std::get_if<PostStep>(&step.action)) {
        check_template(campaign, post->template_name, post->where, diagnostics);
        check_connector(campaign, post->connector, post->where, diagnostics);
      } else if (const auto* webhook = std::get_if<WebhookStep>(&step.action)) {
        check_template(campaign, webhook->template_name, webhook->where, diagnostics);
        check_connector(campaign, webhook->connector, webhook->where, diagnostics);
      } else if (const auto* handoff = std::get_if<HandoffStep>(&step.action)) {
        check_connector(campaign, handoff->connector, handoff->where, diagnostics);
      } else if (const auto* set = std::get_if<SetStep>(&step.action);
                 set && set->stage && !campaign.scoring.stages.empty() && !campaign.scoring.stage_rank(*set->stage)) {
        diagnostics.push_back({Severity::warning, step.where,
                               fmt::format("stage \"{}\" is not one of the stages in scoring.yaml", *set->stage),
                               "check the spelling"});
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
  if (fs::exists(campaign.dir / "scoring.yaml")) {
    auto scoring = load_scoring(campaign.dir / "scoring.yaml", "scoring.yaml");
    if (scoring) {
      campaign.scoring = std::move(*scoring);
    } else {
      result.diagnostics.insert(result.diagnostics.end(), scoring.error().begin(), scoring.error().end());
    }
  }

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
