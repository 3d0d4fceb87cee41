// A campaign directory as a whole: config, every workflow, and the references between them.

#include <algorithm>
#include <fstream>
#include <functional>
#include <set>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "workflows/campaign.hpp"

#include "templates/template_library.hpp"

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

// `step:` in an event test names a step of the workflow the condition is in, and `stage:` a stage the campaign can
// set (scoring.yaml's stages, `set: { stage: … }` steps): a typo would otherwise make the condition never hold.
void check_condition_references(const Campaign& campaign, const std::vector<Workflow>& workflows,
                                Diagnostics& diagnostics) {
  std::vector<std::string> stages;
  for (const auto& stage : campaign.scoring.stages) stages.push_back(stage.name);
  for (const auto& workflow : workflows) {
    for (const auto& step : workflow.steps) {
      if (const auto* set = std::get_if<SetStep>(&step.action); set && set->stage) stages.push_back(*set->stage);
    }
  }
  const auto check_stage = [&](const ConditionTerm& term) {
    const auto* test = std::get_if<StageTest>(&term);
    if (!test || std::find(stages.begin(), stages.end(), test->stage) != stages.end()) return;
    const std::string suggestion = closest_match(test->stage, stages);
    diagnostics.push_back({Severity::error, test->where,
                           fmt::format("stage \"{}\" is never set: it is not a stage of scoring.yaml or of a `set` step",
                                       test->stage),
                           suggestion.empty() ? "define it under `stages:` in scoring.yaml"
                                              : fmt::format("did you mean \"{}\"?", suggestion)});
  };
  for (const auto& workflow : workflows) {
    std::vector<std::string> step_ids;
    for (const auto& step : workflow.steps) step_ids.push_back(step.id);
    for_each_condition(workflow, [&](const Condition& condition) {
      for_each_term(condition, [&](const ConditionTerm& term) {
        check_stage(term);
        const auto* event = std::get_if<EventTest>(&term);
        if (!event || event->step.empty() || workflow.step_index(event->step)) return;
        const std::string suggestion = closest_match(event->step, step_ids);
        diagnostics.push_back(
            {Severity::error, event->step_where,
             fmt::format("step \"{}\" is not a step of workflow \"{}\"", event->step, workflow.id),
             suggestion.empty() ? "name a step of this workflow by its id"
                                : fmt::format("did you mean \"{}\"?", suggestion)});
      });
    });
  }
  for (const auto& segment : campaign.segments) for_each_term(segment.condition, check_stage);
  for (const auto& stage : campaign.scoring.stages) for_each_term(stage.condition, check_stage);
}

// Attribute names the campaign itself knows of: the standard ones, and every one it names anywhere (conditions,
// `set`, scoring, wait_until, `to:`). A template variable `lead.X` outside them is likely a typo or an attribute no
// producer sends: a warning, since producers may still send it.
void collect_condition_attributes(const Condition& condition, std::set<std::string>& names) {
  for_each_term(condition, [&](const ConditionTerm& term) {
    if (const auto* attr = std::get_if<AttrTest>(&term)) names.insert(attr->name);
  });
}

std::set<std::string> known_attributes(const Campaign& campaign) {
  std::set<std::string> names = {"id", "email", "first_name", "last_name", "timezone", "locale", "phone"};
  for (const auto& workflow : campaign.workflows) {
    if (workflow.trigger.when) collect_condition_attributes(*workflow.trigger.when, names);
    for (const auto& rule : workflow.exit_when) {
      if (rule.condition) collect_condition_attributes(*rule.condition, names);
    }
    for (const auto& step : workflow.steps) {
      if (const auto* branch = std::get_if<BranchStep>(&step.action)) {
        for (const auto& c : branch->cases) collect_condition_attributes(c.condition, names);
      } else if (const auto* set = std::get_if<SetStep>(&step.action)) {
        for (const auto& [name, value] : set->attrs) names.insert(name);
      } else if (const auto* until = std::get_if<WaitUntilStep>(&step.action); until && !until->attr.empty()) {
        names.insert(until->attr);
      } else if (const auto* email = std::get_if<EmailStep>(&step.action); email && email->to.rfind("attr.", 0) == 0) {
        names.insert(email->to.substr(5));
      }
    }
  }
  for (const auto& rule : campaign.scoring.rules) {
    if (!rule.attr.empty()) names.insert(rule.attr);
  }
  for (const auto& stage : campaign.scoring.stages) collect_condition_attributes(stage.condition, names);
  for (const auto& segment : campaign.segments) collect_condition_attributes(segment.condition, names);
  for (const auto& [name, type] : campaign.config.attributes) names.insert(name);
  return names;
}

// `{{lead.NAME` (also after `{`, `#`, `^`, `&`, `/` and spaces) found by a linear scan: the text is the
// marketer's, but a template of one long tag must not cost more than reading it.
void find_lead_variables(const std::string& line, const std::function<void(const std::string&, std::size_t)>& found) {
  for (std::size_t pos = line.find("{{"); pos != std::string::npos; pos = line.find("{{", pos + 2)) {
    std::size_t at = pos + 2;
    if (at < line.size() && std::string_view("{#^&/").find(line[at]) != std::string_view::npos) ++at;
    while (at < line.size() && std::isspace(static_cast<unsigned char>(line[at]))) ++at;
    if (line.compare(at, 5, "lead.") != 0) continue;
    std::size_t end = at + 5;
    while (end < line.size() && (std::isalnum(static_cast<unsigned char>(line[end])) || line[end] == '_')) ++end;
    if (end > at + 5) found(line.substr(at + 5, end - at - 5), pos);
  }
}

void check_template_variables(const Campaign& campaign, Diagnostics& diagnostics) {
  std::error_code ec;
  if (!fs::is_directory(campaign.templates_dir, ec)) return;
  const std::set<std::string> known = known_attributes(campaign);
  // Links are not followed (a link to a parent would loop), and errors end the walk instead of the program.
  fs::recursive_directory_iterator walk(campaign.templates_dir, fs::directory_options::skip_permission_denied, ec);
  for (; !ec && walk != fs::recursive_directory_iterator(); walk.increment(ec)) {
    const auto& entry = *walk;
    std::error_code status_error;
    if (entry.is_symlink(status_error) || !entry.is_regular_file(status_error) ||
        entry.path().extension() != ".mustache" || entry.file_size(status_error) > templates::max_template_bytes) {
      continue;
    }
    std::ifstream in(entry.path());
    std::string line;
    int number = 0;
    std::set<std::string> reported;
    while (std::getline(in, line)) {
      ++number;
      find_lead_variables(line, [&](const std::string& name, std::size_t column) {
        if (known.count(name) || !reported.insert(name).second) return;
        diagnostics.push_back(
            {Severity::warning,
             {shown(campaign.dir, entry.path()), number, static_cast<int>(column) + 1},
             fmt::format("template variable lead.{} is not an attribute this campaign knows of", name),
             "check the spelling; if producers send it, declare it under `attributes:` in nurture.yaml"});
      });
    }
  }
  if (ec) {
    diagnostics.push_back({Severity::error, {shown(campaign.dir, campaign.templates_dir), 0, 0},
                           "cannot read the templates folder: " + ec.message(),
                           "check the links and permissions under templates/"});
  }
}

std::vector<fs::path> yaml_files_in(const fs::path& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  if (fs::is_directory(dir, ec)) {
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      const auto ext = entry.path().extension();
      std::error_code status_error;
      if (entry.is_regular_file(status_error) && (ext == ".yaml" || ext == ".yml")) files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

// posts/*.yaml: each file one post, ids unique, connectors configured, the template there and free of lead
// variables (a post is rendered once, for no lead).
void load_posts(Campaign& campaign, Diagnostics& diagnostics) {
  for (const auto& file : yaml_files_in(campaign.dir / "posts")) {
    auto post = load_post(file, shown(campaign.dir, file));
    if (!post) {
      diagnostics.insert(diagnostics.end(), post.error().begin(), post.error().end());
      continue;
    }
    if (const ScheduledPost* twin = campaign.post(post->id)) {
      diagnostics.push_back({Severity::error, post->where,
                             fmt::format("post id \"{}\" is also used by {}", post->id, twin->where.file),
                             "give each post its own id"});
      continue;
    }
    for (const auto& connector : post->connectors) check_connector(campaign, connector, post->where, diagnostics);
    check_template(campaign, post->template_name, post->where, diagnostics);
    std::ifstream in(campaign.templates_dir / (post->template_name + ".mustache"));
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
      find_lead_variables(line, [&](const std::string& name, std::size_t column) {
        diagnostics.push_back(
            {Severity::error,
             {shown(campaign.dir, campaign.templates_dir / (post->template_name + ".mustache")), number,
              static_cast<int>(column) + 1},
             fmt::format("post \"{}\" uses lead.{}, but a scheduled post is written for no lead", post->id, name),
             "use a template without {{lead.…}} for scheduled posts"});
      });
    }
    campaign.posts.push_back(std::move(*post));
  }
  std::sort(campaign.posts.begin(), campaign.posts.end(), [](const ScheduledPost& a, const ScheduledPost& b) {
    return a.at != b.at ? a.at < b.at : a.id < b.id;
  });
}

// broadcasts/*.yaml: each file one broadcast, ids unique, its segment defined, its connector configured and every
// template it sends there.
void load_broadcasts(Campaign& campaign, Diagnostics& diagnostics) {
  for (const auto& file : yaml_files_in(campaign.dir / "broadcasts")) {
    auto broadcast = load_broadcast(file, shown(campaign.dir, file), campaign.config.default_email_connector);
    if (!broadcast) {
      diagnostics.insert(diagnostics.end(), broadcast.error().begin(), broadcast.error().end());
      continue;
    }
    if (const Broadcast* twin = campaign.broadcast(broadcast->id)) {
      diagnostics.push_back({Severity::error, broadcast->where,
                             fmt::format("broadcast id \"{}\" is also used by {}", broadcast->id, twin->where.file),
                             "give each broadcast its own id"});
      continue;
    }
    if (!campaign.segment(broadcast->segment)) {
      std::vector<std::string> names;
      for (const auto& segment : campaign.segments) names.push_back(segment.name);
      const std::string suggestion = closest_match(broadcast->segment, names);
      diagnostics.push_back({Severity::error, broadcast->where,
                             fmt::format("broadcast \"{}\" goes to segment \"{}\", which segments.yaml does not define",
                                         broadcast->id, broadcast->segment),
                             suggestion.empty() ? "define it in segments.yaml"
                                                : fmt::format("did you mean \"{}\"?", suggestion)});
    }
    std::visit([&](const auto& action) { check_connector(campaign, action.connector, action.where, diagnostics); },
               broadcast->action);
    check_template(campaign, broadcast->template_for(-1), broadcast->where, diagnostics);
    if (broadcast->split) {
      for (const auto& name : broadcast->split->templates) check_template(campaign, name, broadcast->where, diagnostics);
    }
    campaign.broadcasts.push_back(std::move(*broadcast));
  }
  std::sort(campaign.broadcasts.begin(), campaign.broadcasts.end(),
            [](const Broadcast& a, const Broadcast& b) { return a.id < b.id; });
}

// Email templates are rendered by the dispatcher long after validation; every problem a template can have without
// lead data (syntax, missing layout or partial, the unsubscribe link and postal address the law asks for) is
// found here instead.
void check_email_templates(const Campaign& campaign, const std::vector<Workflow>& workflows,
                           Diagnostics& diagnostics) {
  templates::TemplateLibrary library(campaign.templates_dir);
  std::set<std::string> checked;
  bool sends_email = false;
  const auto check = [&](const std::string& name) {
    sends_email = true;
    if (name.empty() || !checked.insert(name).second || !fs::exists(campaign.templates_dir / (name + ".mustache"))) {
      return;
    }
    for (const auto& problem : library.check_email(name)) {
      diagnostics.push_back(Diagnostic(problem));  // one error type: nothing to translate
    }
  };
  for (const auto& workflow : workflows) {
    for (const auto& step : workflow.steps) {
      if (const auto* email = std::get_if<EmailStep>(&step.action)) check(email->template_name);
    }
  }
  for (const auto& broadcast : campaign.broadcasts) {
    if (!std::holds_alternative<EmailStep>(broadcast.action)) continue;
    check(broadcast.template_for(-1));
    if (broadcast.split) {
      for (const auto& name : broadcast.split->templates) check(name);
    }
  }
  if (sends_email && campaign.config.sender.postal_address.empty()) {
    diagnostics.push_back({Severity::error, {campaign.config_file_shown, 0, 0},
                           "marketing email needs the sender's postal address (CAN-SPAM)",
                           "set `sender.postal_address` in nurture.yaml"});
  }
}

}  // namespace

CampaignLoad load_campaign_files(const fs::path& dir, const fs::path& config_path) {
  CampaignLoad result;
  Campaign& campaign = result.campaign;
  campaign.dir = fs::absolute(dir).lexically_normal();
  campaign.templates_dir = campaign.dir / "templates";

  const fs::path config_file = config_path.empty() ? campaign.dir / "nurture.yaml" : fs::absolute(config_path);
  if (!fs::exists(config_file)) {
    result.diagnostics.push_back({Severity::error, {shown(campaign.dir, config_file), 0, 0},
                                  "no nurture.yaml", "create one or pass --config FILE"});
    return result;
  }
  auto config = load_config(config_file, shown(campaign.dir, config_file));
  if (!config) {
    result.diagnostics = std::move(config.error());
    return result;
  }
  campaign.config = std::move(*config);
  campaign.config_file_shown = shown(campaign.dir, config_file);
  if (fs::exists(campaign.dir / "scoring.yaml")) {
    auto scoring = load_scoring(campaign.dir / "scoring.yaml", "scoring.yaml");
    if (scoring) {
      campaign.scoring = std::move(*scoring);
    } else {
      result.diagnostics.insert(result.diagnostics.end(), scoring.error().begin(), scoring.error().end());
    }
  }
  if (fs::exists(campaign.dir / "segments.yaml")) {
    auto segments = load_segments(campaign.dir / "segments.yaml", "segments.yaml");
    if (segments) {
      campaign.segments = std::move(*segments);
      std::ifstream file(campaign.dir / "segments.yaml", std::ios::binary);
      campaign.segments_source.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
    } else {
      result.diagnostics.insert(result.diagnostics.end(), segments.error().begin(), segments.error().end());
    }
  }

  const std::vector<fs::path> files = yaml_files_in(campaign.dir / "workflows");
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
  load_posts(campaign, result.diagnostics);
  load_broadcasts(campaign, result.diagnostics);
  check_references(campaign, campaign.workflows, result.diagnostics);
  check_references(campaign, with_errors, result.diagnostics);
  check_segment_references(campaign, campaign.workflows, result.diagnostics);
  check_condition_references(campaign, campaign.workflows, result.diagnostics);
  check_template_variables(campaign, result.diagnostics);
  std::vector<Workflow> all = campaign.workflows;
  all.insert(all.end(), with_errors.begin(), with_errors.end());
  check_email_templates(campaign, all, result.diagnostics);
  return result;
}

// The boundary of the loader: whatever a campaign folder holds (a link loop, a file that is not YAML, a node of
// the wrong kind that slipped past a check), loading ends in diagnostics, never in an exception. A running daemon
// reloads through here, so a bad edit is refused instead of stopping it.
CampaignLoad load_campaign(const fs::path& dir, const fs::path& config_path) {
  try {
    return load_campaign_files(dir, config_path);
  } catch (const YAML::Exception& e) {
    CampaignLoad failed;
    failed.diagnostics.push_back({Severity::error, {dir.string(), e.mark.is_null() ? 0 : e.mark.line + 1,
                                                    e.mark.is_null() ? 0 : e.mark.column + 1},
                                  "cannot read the campaign: " + e.msg, "fix the YAML at that position"});
    return failed;
  } catch (const std::exception& e) {
    CampaignLoad failed;
    failed.diagnostics.push_back({Severity::error, {dir.string(), 0, 0},
                                  std::string("cannot read the campaign: ") + e.what(),
                                  "check the files, links and permissions in the campaign folder"});
    return failed;
  }
}

}  // namespace nurture::workflows
