// Workflow files -> model. Strict: every key is declared, each problem is reported with its position and a fix,
// and loading goes on after an error so one run shows them all.

#include <algorithm>
#include <regex>
#include <set>

#include <fmt/format.h>

#include "workflows/campaign.hpp"
#include "workflows/yaml_reader.hpp"

namespace nurture::workflows {

namespace {

const std::vector<std::string> workflow_keys = {"workflow", "name",    "description", "trigger",
                                                "reentry",  "exit_when", "send_window", "steps"};
// Part of spec/workflow.md, not yet implemented by this engine: refused by name rather than as unknown keys.
const std::set<std::string> pending_workflow_keys = {"reentry", "exit_when", "send_window"};
const std::vector<std::string> step_kinds = {"email", "post",   "webhook", "handoff", "wait", "wait_until", "wait_for",
                                             "branch", "split", "score",   "set",     "exit"};
const std::set<std::string> implemented_step_kinds = {"email", "wait"};

bool is_identifier(const std::string& text) {
  static const std::regex pattern("[a-z0-9][a-z0-9_-]*");
  return std::regex_match(text, pattern);
}

class WorkflowParser {
 public:
  WorkflowParser(YamlContext& context, std::string default_email_connector)
      : context_(context), default_email_connector_(std::move(default_email_connector)) {}

  Workflow parse(const YAML::Node& root) {
    Workflow workflow;
    workflow.where = context_.where(root);
    MapReader top(context_, root, "a workflow", workflow_keys);
    if (!top.ok()) return workflow;

    if (auto id = top.string("workflow", true)) {
      workflow.id = *id;
      if (!is_identifier(*id)) {
        context_.error(top["workflow"], fmt::format("workflow id \"{}\" is not valid", *id),
                       "use lowercase letters, digits, `_` and `-`, starting with a letter or digit");
      }
    }
    workflow.name = top.string("name").value_or("");
    workflow.description = top.string("description").value_or("");
    for (const auto& key : pending_workflow_keys) {
      if (top.has(key)) {
        context_.error(top[key], fmt::format("`{}` is not supported by this version of nurture yet", key),
                       "remove it for now");
      }
    }
    parse_trigger(top, workflow);
    parse_steps(top, workflow);
    top.finish();
    check_gotos(workflow);
    return workflow;
  }

 private:
  void parse_trigger(MapReader& top, Workflow& workflow) {
    if (!top.has("trigger")) {
      context_.error(top["workflow"], "a workflow needs a `trigger`", "add `trigger: { event: lead.created }`");
      return;
    }
    MapReader trigger(context_, top["trigger"], "`trigger`", {"event", "when"});
    if (auto event = trigger.string("event", true)) workflow.trigger.event = *event;
    if (trigger.has("when")) {
      context_.error(trigger["when"], "`trigger.when` is not supported by this version of nurture yet",
                     "remove it for now");
    }
    trigger.finish();
  }

  void parse_steps(MapReader& top, Workflow& workflow) {
    const YAML::Node steps = top["steps"];
    if (!steps.IsDefined()) {
      context_.error(top["workflow"], "a workflow needs `steps`", "add a list of steps, e.g. `- email: {...}`");
      return;
    }
    if (!steps.IsSequence() || steps.size() == 0) {
      context_.error(steps, "`steps` must be a non-empty list", "write each step as `- email: ...` or `- wait: 2d`");
      return;
    }
    std::set<std::string> seen_ids;
    for (std::size_t i = 0; i < steps.size(); ++i) {
      const YAML::Node node = steps[i];
      Step step = parse_step(node, i);
      if (!seen_ids.insert(step.id).second) {
        context_.error(node["id"].IsDefined() ? node["id"] : node,
                       fmt::format("step id \"{}\" is used twice", step.id), "give every step its own id");
      }
      workflow.steps.push_back(std::move(step));
    }
  }

  Step parse_step(const YAML::Node& node, std::size_t index) {
    Step step;
    step.where = context_.where(node);
    step.id = fmt::format("step-{}", index + 1);
    std::vector<std::string> allowed = step_kinds;
    allowed.insert(allowed.end(), {"id", "goto", "on_timeout"});
    MapReader reader(context_, node, fmt::format("step {}", index + 1), allowed);
    if (!reader.ok()) return step;

    if (auto id = reader.string("id")) {
      step.id = *id;
      if (!is_identifier(*id)) {
        context_.error(reader["id"], fmt::format("step id \"{}\" is not valid", *id),
                       "use lowercase letters, digits, `_` and `-`");
      }
    }
    if (auto target = reader.string("goto")) {
      step.goto_target = *target;
      goto_nodes_.push_back({step.id, reader["goto"]});
    }
    if (reader.has("on_timeout")) {
      context_.error(reader["on_timeout"], "`on_timeout` belongs to a `wait_for` step", "remove it");
    }

    std::vector<std::string> kinds_here;
    for (const auto& kind : step_kinds) {
      if (reader.has(kind)) kinds_here.push_back(kind);
    }
    reader.finish();
    if (kinds_here.size() != 1) {
      context_.error(node,
                     kinds_here.empty() ? "a step needs an action"
                                        : fmt::format("a step has exactly one action, this one has {}",
                                                      fmt::join(kinds_here, ", ")),
                     "write one of: email, wait (split the others into steps of their own)");
      return step;
    }
    const std::string& kind = kinds_here.front();
    const YAML::Node value = reader[kind];
    if (!implemented_step_kinds.count(kind)) {
      context_.error(node[kind].IsDefined() ? node : value,
                     fmt::format("step kind `{}` is not supported by this version of nurture yet", kind),
                     "use email or wait");
    } else if (kind == "email") {
      step.action = parse_email(value);
    } else if (kind == "wait") {
      step.action = parse_wait(value);
    }
    return step;
  }

  EmailStep parse_email(const YAML::Node& node) {
    EmailStep email;
    MapReader reader(context_, node, "`email`", {"template", "connector", "to"});
    if (auto name = reader.string("template", true)) email.template_name = *name;
    email.connector = reader.string("connector").value_or(default_email_connector_);
    email.to = reader.string("to").value_or("");
    reader.finish();
    if (reader.ok() && email.connector.empty()) {
      context_.error(node, "this email step names no connector and the config has no `defaults.email`",
                     "add `connector: NAME` or set `defaults.email` in nurture.yaml");
    }
    email.where = context_.where(node);
    return email;
  }

  WaitStep parse_wait(const YAML::Node& node) {
    WaitStep wait;
    auto text = context_.scalar(node, "`wait`");
    if (!text) return wait;
    auto duration = parse_duration(*text);
    if (!duration || duration->count() == 0) {
      context_.error(node, fmt::format("\"{}\" is not a duration", *text),
                     "write a number and a unit: 30s, 15m, 2h, 3d, 1w");
      return wait;
    }
    wait.duration = *duration;
    return wait;
  }

  void check_gotos(const Workflow& workflow) {
    std::vector<std::string> ids;
    for (const auto& step : workflow.steps) ids.push_back(step.id);
    for (const auto& [from, node] : goto_nodes_) {
      const std::string target = node.as<std::string>("");
      if (workflow.step_index(target)) continue;
      const std::string suggestion = closest_match(target, ids);
      context_.error(node, fmt::format("goto target \"{}\" does not exist", target),
                     suggestion.empty() ? "name the id of a step in this workflow"
                                        : fmt::format("did you mean \"{}\"?", suggestion));
    }
  }

 private:
  YamlContext& context_;
  std::string default_email_connector_;
  std::vector<std::pair<std::string, YAML::Node>> goto_nodes_;
};

}  // namespace

std::string_view Step::kind() const {
  struct Visitor {
    std::string_view operator()(const EmailStep&) const { return "email"; }
    std::string_view operator()(const WaitStep&) const { return "wait"; }
  };
  return std::visit(Visitor{}, action);
}

std::optional<std::size_t> Workflow::step_index(std::string_view step_id) const {
  for (std::size_t i = 0; i < steps.size(); ++i) {
    if (steps[i].id == step_id) return i;
  }
  return std::nullopt;
}

std::optional<std::size_t> Workflow::next_after(std::size_t index) const {
  if (index < steps.size() && !steps[index].goto_target.empty()) return step_index(steps[index].goto_target);
  if (index + 1 < steps.size()) return index + 1;
  return std::nullopt;
}

bool Workflow::may_revisit() const {
  for (std::size_t i = 0; i < steps.size(); ++i) {
    if (steps[i].goto_target.empty()) continue;
    auto target = step_index(steps[i].goto_target);
    if (target && *target <= i) return true;
  }
  return false;
}

Workflow parse_workflow_file(const std::filesystem::path& path, const std::string& shown_name,
                             const std::string& default_email_connector, Diagnostics& diagnostics) {
  auto root = load_yaml_file(path.string(), shown_name, diagnostics);
  if (!root) return Workflow{};
  YamlContext context(shown_name, diagnostics);
  WorkflowParser parser(context, default_email_connector);
  return parser.parse(*root);
}

tl::expected<Workflow, Diagnostics> load_workflow(const std::filesystem::path& path, const std::string& shown_name,
                                                  const std::string& default_email_connector) {
  Diagnostics diagnostics;
  Workflow workflow = parse_workflow_file(path, shown_name, default_email_connector, diagnostics);
  if (has_errors(diagnostics)) return tl::unexpected(std::move(diagnostics));
  return workflow;
}

}  // namespace nurture::workflows
