// Workflow files -> model. Strict: every key is declared, each problem is reported with its position and a fix,
// and loading goes on after an error so one run shows them all. Checks that need the whole workflow (targets,
// reachability, loops without a wait) run after parsing; checks that need the campaign (templates, connectors)
// run in campaign.cpp.

#include <algorithm>
#include <fstream>
#include <functional>
#include <sstream>
#include <set>

#include <date/tz.h>
#include <fmt/format.h>

#include "workflows/campaign.hpp"
#include "workflows/condition_parser.hpp"
#include "workflows/action_reader.hpp"
#include "workflows/yaml_reader.hpp"

namespace nurture::workflows {

namespace {

const std::vector<std::string> workflow_keys = {"workflow", "name",    "description", "trigger",
                                                "reentry",  "exit_when", "send_window", "max_late", "steps"};
const std::vector<std::string> step_kinds = {"email", "post",   "webhook", "handoff", "wait", "wait_until", "wait_for",
                                             "branch", "split", "score",   "set",     "exit"};
const char* day_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

// Plain loops, not std::regex: these read campaign files, and std::regex recurses once per character.
bool is_identifier(const std::string& text) {
  const auto lower_or_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (text.empty() || text.size() > 128 || !lower_or_digit(text[0])) return false;
  return std::all_of(text.begin(), text.end(), [&](char c) { return lower_or_digit(c) || c == '_' || c == '-'; });
}

std::optional<int> day_index(const std::string& name) {
  for (int i = 0; i < 7; ++i) {
    if (name == day_names[i]) return i;
  }
  return std::nullopt;
}

// `HH:MM` -> minutes after midnight; `24:00` is allowed as the end of a range.
std::optional<int> parse_clock(const std::string& text) {
  const auto colon = text.find(':');
  if (colon == std::string::npos || colon == 0 || colon > 2 || text.size() != colon + 3) return std::nullopt;
  const auto all_digits = [](std::string_view part) {
    return std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  const std::string_view view(text);
  if (!all_digits(view.substr(0, colon)) || !all_digits(view.substr(colon + 1))) return std::nullopt;
  const int hours = std::stoi(text.substr(0, colon));
  const int minutes_part = std::stoi(text.substr(colon + 1));
  if (hours > 24 || minutes_part > 59) return std::nullopt;
  const int minutes = hours * 60 + minutes_part;
  return minutes <= 24 * 60 ? std::optional<int>(minutes) : std::nullopt;
}

std::optional<Duration> parse_signed_duration(const std::string& text) {
  if (!text.empty() && text[0] == '-') {
    auto d = parse_duration(text.substr(1));
    return d ? std::optional<Duration>(-*d) : std::nullopt;
  }
  if (!text.empty() && text[0] == '+') return parse_duration(text.substr(1));
  return parse_duration(text);
}

bool valid_timezone(const std::string& name) {
  try {
    date::locate_zone(name);
    return true;
  } catch (const std::exception&) {
    return false;
  }
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
    parse_trigger(top, workflow);
    if (top.has("reentry")) parse_reentry(top["reentry"], workflow.reentry);
    if (top.has("exit_when")) parse_exit_when(top["exit_when"], workflow.exit_when);
    if (top.has("send_window")) workflow.send_window = parse_send_window(top["send_window"]);
    if (top.has("max_late")) workflow.max_late = parse_max_late(top["max_late"]);
    parse_steps(top, workflow);
    top.finish();
    check_targets(workflow);
    check_graph(workflow);
    workflow.may_revisit = workflow.has_way_back();
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
    if (trigger.has("when")) workflow.trigger.when = parse_condition(context_, trigger["when"]);
    trigger.finish();
  }

  std::optional<Duration> parse_max_late(const YAML::Node& node) {
    auto text = context_.scalar(node, "`max_late`");
    if (!text) return std::nullopt;
    auto duration = parse_duration(*text);
    if (!duration) {
      context_.error(node, fmt::format("max_late \"{}\" is not a duration", *text),
                     "write a number and a unit, e.g. \"12h\" or \"2d\"");
    }
    return duration;
  }

  void parse_reentry(const YAML::Node& node, Reentry& reentry) {
    auto text = context_.scalar(node, "`reentry`");
    if (!text) return;
    if (*text == "never") {
      reentry.policy = Reentry::Policy::never;
    } else if (*text == "always") {
      reentry.policy = Reentry::Policy::always;
    } else if (text->rfind("after ", 0) == 0 && parse_duration(text->substr(6))) {
      reentry.policy = Reentry::Policy::after;
      reentry.after = *parse_duration(text->substr(6));
    } else {
      context_.error(node, fmt::format("reentry \"{}\" is not a policy", *text),
                     "write never, always, or after DURATION (e.g. \"after 30d\")");
    }
  }

  void parse_exit_when(const YAML::Node& node, std::vector<ExitRule>& rules) {
    if (!node.IsSequence()) {
      context_.error(node, "`exit_when` must be a list", "e.g. `- event: purchase.completed`");
      return;
    }
    for (const auto& item : node) {
      MapReader reader(context_, item, "an exit_when rule", {"event", "goal", "condition"});
      if (!reader.ok()) continue;
      ExitRule rule;
      rule.event = reader.string("event").value_or("");
      rule.goal = reader.string("goal").value_or("");
      if (reader.has("condition")) rule.condition = parse_condition(context_, reader["condition"]);
      if (rule.event.empty() && !reader.has("condition")) {
        context_.error(item, "an exit_when rule needs `event` or `condition`",
                       "e.g. `- event: purchase.completed` or `- condition: { stage: customer }`");
      } else if (!rule.event.empty() && reader.has("condition")) {
        context_.error(item, "an exit_when rule has `event` or `condition`, not both", "split it into two rules");
      }
      reader.finish();
      rules.push_back(std::move(rule));
    }
  }

  std::optional<DaySet> parse_days(const YAML::Node& node) {
    DaySet days{};
    auto bad = [&] {
      context_.error(node, "days must be `every day`, a range like `mon-fri`, or a list like `[mon, wed]`",
                     "day names: sun mon tue wed thu fri sat");
      return std::nullopt;
    };
    if (node.IsSequence()) {
      for (const auto& item : node) {
        auto index = day_index(item.as<std::string>(""));
        if (!index) return bad();
        days[*index] = true;
      }
      return days;
    }
    if (!node.IsScalar()) return bad();
    const std::string text = node.Scalar();
    if (text == "every day" || text == "daily") return DaySet{true, true, true, true, true, true, true};
    const auto dash = text.find('-');
    if (dash == std::string::npos) {
      auto index = day_index(text);
      if (!index) return bad();
      days[*index] = true;
      return days;
    }
    auto first = day_index(text.substr(0, dash));
    auto last = day_index(text.substr(dash + 1));
    if (!first || !last) return bad();
    for (int d = *first;; d = (d + 1) % 7) {  // ranges may wrap: fri-mon
      days[d] = true;
      if (d == *last) break;
    }
    return days;
  }

  std::optional<SendWindow> parse_send_window(const YAML::Node& node) {
    MapReader reader(context_, node, "`send_window`", {"days", "hours", "timezone", "fallback"});
    if (!reader.ok()) return std::nullopt;
    SendWindow window;
    if (reader.has("days")) {
      if (auto days = parse_days(reader["days"])) window.days = *days;
    }
    if (auto hours = reader.string("hours")) {
      const auto dash = hours->find('-');
      auto from = dash == std::string::npos ? std::nullopt : parse_clock(hours->substr(0, dash));
      auto to = dash == std::string::npos ? std::nullopt : parse_clock(hours->substr(dash + 1));
      if (!from || !to || *from >= *to) {
        context_.error(reader["hours"], fmt::format("hours \"{}\" are not a range of the day", *hours),
                       "write \"09:00-17:00\" (start before end)");
      } else {
        window.from_minute = *from;
        window.to_minute = *to;
      }
    }
    const std::string zone = reader.string("timezone").value_or("lead");
    window.lead_timezone = zone == "lead";
    if (!window.lead_timezone) {
      window.timezone = zone;
      if (!valid_timezone(zone)) {
        context_.error(reader["timezone"], fmt::format("\"{}\" is not an IANA time zone", zone),
                       "write `lead` or a zone like Europe/Berlin");
      }
    }
    if (auto fallback = reader.string("fallback")) {
      window.fallback = *fallback;
      if (!valid_timezone(*fallback)) {
        context_.error(reader["fallback"], fmt::format("\"{}\" is not an IANA time zone", *fallback),
                       "e.g. Europe/Berlin or UTC");
      }
    }
    reader.finish();
    return window;
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
        // A step that is not a map has no `id` of its own to point at (and asking a scalar for one throws).
        context_.error(node.IsMap() && node["id"].IsDefined() ? node["id"] : node,
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
      references_.push_back({reader["goto"], *target});
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
                     fmt::format("write one of: {} (split the others into steps of their own)",
                                 fmt::join(step_kinds, ", ")));
      return step;
    }
    const std::string& kind = kinds_here.front();
    const YAML::Node value = reader[kind];
    if (kind == "email") step.action = parse_email(value);
    else if (kind == "post") step.action = parse_post(value);
    else if (kind == "webhook") step.action = parse_webhook(value);
    else if (kind == "handoff") step.action = parse_handoff(value);
    else if (kind == "wait") step.action = parse_wait(value);
    else if (kind == "wait_until") step.action = parse_wait_until(value);
    else if (kind == "wait_for") step.action = parse_wait_for(value, reader);
    else if (kind == "branch") step.action = parse_branch(value);
    else if (kind == "split") step.action = parse_split(value);
    else if (kind == "score") step.action = parse_score(value);
    else if (kind == "set") step.action = parse_set(value);
    else if (kind == "exit") step.action = parse_exit(value);

    if (reader.has("on_timeout") && kind != "wait_for") {
      context_.error(reader["on_timeout"], "`on_timeout` belongs to a `wait_for` step", "remove it");
    }
    if (!step.goto_target.empty() && (kind == "branch" || kind == "split" || kind == "exit")) {
      context_.error(reader["goto"], fmt::format("a `{}` step has no `goto`", kind),
                     kind == "exit" ? "an exit ends the workflow" : "it chooses its own targets");
    }
    return step;
  }

  EmailStep parse_email(const YAML::Node& node) {
    return read_email_action(context_, node, default_email_connector_);
  }
  PostStep parse_post(const YAML::Node& node) { return read_post_action(context_, node); }
  WebhookStep parse_webhook(const YAML::Node& node) { return read_webhook_action(context_, node); }

  HandoffStep parse_handoff(const YAML::Node& node) {
    HandoffStep handoff;
    MapReader reader(context_, node, "`handoff`", {"connector", "note"});
    handoff.connector = reader.string("connector", true).value_or("");
    handoff.note = reader.string("note").value_or("");
    reader.finish();
    handoff.where = context_.where(node);
    return handoff;
  }

  std::optional<Duration> duration_of(const YAML::Node& node, const std::string& what, bool allow_zero = false) {
    auto text = context_.scalar(node, what);
    if (!text) return std::nullopt;
    auto duration = parse_duration(*text);
    if (!duration || (!allow_zero && duration->count() == 0)) {
      context_.error(node, fmt::format("\"{}\" is not a duration", *text),
                     "write a number and a unit: 30s, 15m, 2h, 3d, 1w");
      return std::nullopt;
    }
    return duration;
  }

  WaitStep parse_wait(const YAML::Node& node) {
    WaitStep wait;
    if (auto d = duration_of(node, "`wait`")) wait.duration = *d;
    return wait;
  }

  WaitUntilStep parse_wait_until(const YAML::Node& node) {
    WaitUntilStep until;
    MapReader reader(context_, node, "`wait_until`", {"at", "days", "attr", "offset"});
    if (!reader.ok()) return until;
    if (reader.has("at") == reader.has("attr")) {
      context_.error(node, "`wait_until` takes `at` (a time of day) or `attr` (a date attribute)",
                     "e.g. `{ at: \"09:00\" }` or `{ attr: renewal_date, offset: -7d }`");
    }
    if (auto at = reader.string("at")) {
      until.at_minute = parse_clock(*at);
      if (!until.at_minute || *until.at_minute >= 24 * 60) {
        context_.error(reader["at"], fmt::format("\"{}\" is not a time of day", *at), "write HH:MM, e.g. \"09:00\"");
      }
    }
    if (reader.has("days")) {
      if (auto days = parse_days(reader["days"])) until.days = *days;
    }
    until.attr = reader.string("attr").value_or("");
    if (until.attr.rfind("attr.", 0) == 0) until.attr = until.attr.substr(5);
    if (auto offset = reader.string("offset")) {
      auto d = parse_signed_duration(*offset);
      if (!d) {
        context_.error(reader["offset"], fmt::format("\"{}\" is not a duration", *offset), "e.g. -7d or 2h");
      } else {
        until.offset = *d;
      }
    }
    if (reader.has("days") && reader.has("attr")) {
      context_.error(reader["days"], "`days` goes with `at`, not with `attr`", "remove it");
    }
    reader.finish();
    return until;
  }

  WaitForStep parse_wait_for(const YAML::Node& node, MapReader& step) {
    WaitForStep wait;
    MapReader reader(context_, node, "`wait_for`", {"event", "where", "timeout"});
    wait.event = reader.string("event", true).value_or("");
    if (reader.has("where")) wait.where = parse_where(context_, reader["where"]);
    if (!reader.has("timeout") && reader.ok()) {
      context_.error(node, "`wait_for` needs a `timeout`", "e.g. `timeout: 5d`");
    } else if (reader.has("timeout")) {
      if (auto d = duration_of(reader["timeout"], "`timeout`")) wait.timeout = *d;
    }
    reader.finish();
    if (auto target = step.string("on_timeout")) {
      wait.on_timeout = *target;
      references_.push_back({step["on_timeout"], *target});
    }
    return wait;
  }

  BranchStep parse_branch(const YAML::Node& node) {
    BranchStep branch;
    if (!node.IsSequence() || node.size() == 0) {
      context_.error(node, "`branch` takes a list of `{if: condition, goto: id}`, the last may be `{else: id}`",
                     "e.g. `- if: { attr.plan: pro }` / `  goto: pro_tips`");
      return branch;
    }
    for (std::size_t i = 0; i < node.size(); ++i) {
      const YAML::Node item = node[i];
      if (item.IsMap() && item["else"].IsDefined()) {
        MapReader reader(context_, item, "an else", {"else"});
        if (i + 1 != node.size()) {
          context_.error(item, "`else` must be the last case of a branch", "move it to the end");
        }
        if (auto target = reader.string("else")) {
          branch.else_target = *target;
          references_.push_back({reader["else"], *target});
        }
        reader.finish();
        continue;
      }
      MapReader reader(context_, item, "a branch case", {"if", "goto"});
      if (!reader.ok()) continue;
      BranchCase branch_case;
      if (!reader.has("if")) {
        context_.error(item, "a branch case needs `if`", "write `- if: {...}` with `goto: id`");
      } else if (auto condition = parse_condition(context_, reader["if"])) {
        branch_case.condition = std::move(*condition);
      }
      if (auto target = reader.string("goto", true)) {
        branch_case.target = *target;
        references_.push_back({reader["goto"], *target});
      }
      reader.finish();
      branch.cases.push_back(std::move(branch_case));
    }
    return branch;
  }

  SplitStep parse_split(const YAML::Node& node) {
    SplitStep split;
    if (!node.IsSequence() || node.size() == 0) {
      context_.error(node, "`split` takes a list of `{weight, goto}`", "e.g. `- { weight: 50, goto: variant_a }`");
      return split;
    }
    long total = 0;
    for (const auto& item : node) {
      MapReader reader(context_, item, "a split arm", {"weight", "goto"});
      if (!reader.ok()) continue;
      SplitArm arm;
      if (auto weight = reader.string("weight", true)) {
        try {
          std::size_t used = 0;
          arm.weight = std::stoi(*weight, &used);
          if (used != weight->size() || arm.weight < 0) throw std::invalid_argument("weight");
        } catch (const std::exception&) {
          context_.error(reader["weight"], fmt::format("weight \"{}\" must be a whole number, 0 or more", *weight),
                         "e.g. 50");
          arm.weight = 0;
        }
      }
      total += arm.weight;
      if (auto target = reader.string("goto", true)) {
        arm.target = *target;
        references_.push_back({reader["goto"], *target});
      }
      reader.finish();
      split.arms.push_back(std::move(arm));
    }
    if (total <= 0) context_.error(node, "the weights of a split add up to 0", "give at least one arm a weight above 0");
    return split;
  }

  ScoreStep parse_score(const YAML::Node& node) {
    ScoreStep score;
    auto text = context_.scalar(node, "`score`");
    if (!text) return score;
    try {
      std::size_t used = 0;
      score.points = std::stod(*text, &used);
      if (used != text->size()) throw std::invalid_argument("score");
    } catch (const std::exception&) {
      context_.error(node, fmt::format("score \"{}\" is not a number of points", *text), "write +5 or -3");
    }
    return score;
  }

  SetStep parse_set(const YAML::Node& node) {
    SetStep set;
    if (!node.IsMap() || node.size() == 0) {
      context_.error(node, "`set` takes a map of attr.NAME: value, stage: S, tag: T", "e.g. `{ stage: mql }`");
      return set;
    }
    for (const auto& entry : node) {
      const std::string key = entry.first.as<std::string>("");
      if (key.rfind("attr.", 0) == 0 && key.size() > 5) {
        if (auto value = yaml_to_json(context_, entry.second)) set.attrs.emplace_back(key.substr(5), std::move(*value));
      } else if (key == "stage") {
        if (auto stage = context_.scalar(entry.second, "`stage`")) set.stage = *stage;
      } else if (key == "tag") {
        if (entry.second.IsSequence()) {
          for (const auto& tag : entry.second) set.tags.push_back(tag.as<std::string>(""));
        } else if (auto tag = context_.scalar(entry.second, "`tag`")) {
          set.tags.push_back(*tag);
        }
      } else {
        const std::string suggestion = closest_match(key, {"stage", "tag", "attr.NAME"});
        context_.error(entry.first, fmt::format("`set` cannot set \"{}\"", key),
                       suggestion.empty() ? "write attr.NAME, stage or tag" : fmt::format("did you mean \"{}\"?", suggestion));
      }
    }
    return set;
  }

  ExitStep parse_exit(const YAML::Node& node) {
    ExitStep exit;
    if (node.IsNull() || (node.IsMap() && node.size() == 0)) return exit;
    MapReader reader(context_, node, "`exit`", {"goal"});
    exit.goal = reader.string("goal").value_or("");
    reader.finish();
    return exit;
  }

  void check_targets(const Workflow& workflow) {
    std::vector<std::string> ids;
    for (const auto& step : workflow.steps) ids.push_back(step.id);
    for (const auto& [node, target] : references_) {
      if (workflow.step_index(target)) continue;
      const std::string suggestion = closest_match(target, ids);
      context_.error(node, fmt::format("goto target \"{}\" does not exist", target),
                     suggestion.empty() ? "name the id of a step in this workflow"
                                        : fmt::format("did you mean \"{}\"?", suggestion));
    }
  }

  // Unreachable steps, and loops in which no step waits (they would spin forever at one instant).
  void check_graph(const Workflow& workflow) {
    const std::size_t n = workflow.steps.size();
    if (n == 0) return;
    std::vector<bool> reached(n, false);
    std::vector<std::size_t> stack{0};
    reached[0] = true;
    while (!stack.empty()) {
      const std::size_t i = stack.back();
      stack.pop_back();
      for (std::size_t next : workflow.successors(i)) {
        if (!reached[next]) {
          reached[next] = true;
          stack.push_back(next);
        }
      }
    }
    for (std::size_t i = 0; i < n; ++i) {
      if (!reached[i]) {
        diagnostics_at(workflow.steps[i].where, fmt::format("step \"{}\" can never be reached", workflow.steps[i].id),
                       "add a goto to it, or remove it");
      }
    }
    // Depth-first search over steps that do not wait; a back edge is a loop without a wait.
    std::vector<int> state(n, 0);  // 0 new, 1 on the path, 2 done
    std::vector<std::size_t> path;
    std::function<bool(std::size_t)> visit = [&](std::size_t i) -> bool {
      state[i] = 1;
      path.push_back(i);
      for (std::size_t next : workflow.successors(i)) {
        if (workflow.steps[next].is_wait()) continue;
        if (state[next] == 1) {
          std::vector<std::string> names;
          auto start = std::find(path.begin(), path.end(), next);
          for (auto it = start; it != path.end(); ++it) names.push_back(workflow.steps[*it].id);
          names.push_back(workflow.steps[next].id);
          diagnostics_at(workflow.steps[i].where,
                         fmt::format("the steps {} form a loop with no wait in it", fmt::join(names, " -> ")),
                         "add a `wait` or `wait_for` inside the loop");
          return true;
        }
        if (state[next] == 0 && visit(next)) return true;
      }
      path.pop_back();
      state[i] = 2;
      return false;
    };
    for (std::size_t i = 0; i < n; ++i) {
      if (state[i] == 0 && !workflow.steps[i].is_wait() && visit(i)) break;
    }
  }

  void diagnostics_at(const SourceLocation& where, std::string message, std::string hint) {
    context_.diagnostics().push_back({Severity::error, where, std::move(message), std::move(hint)});
  }

  YamlContext& context_;
  std::string default_email_connector_;
  std::vector<std::pair<YAML::Node, std::string>> references_;  // every step id named somewhere
};

}  // namespace

std::string_view Step::kind() const {
  static constexpr std::string_view names[] = {"email",  "post",  "webhook", "handoff", "wait", "wait_until",
                                               "wait_for", "branch", "split", "score",   "set",  "exit"};
  return names[action.index()];
}

bool Step::is_delivery() const {
  return std::holds_alternative<EmailStep>(action) || std::holds_alternative<PostStep>(action) ||
         std::holds_alternative<WebhookStep>(action) || std::holds_alternative<HandoffStep>(action);
}

bool Step::is_wait() const {
  return std::holds_alternative<WaitStep>(action) || std::holds_alternative<WaitUntilStep>(action) ||
         std::holds_alternative<WaitForStep>(action);
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

std::vector<std::size_t> Workflow::successors(std::size_t index) const {
  std::vector<std::size_t> out;
  auto add = [&](std::optional<std::size_t> i) {
    if (i && std::find(out.begin(), out.end(), *i) == out.end()) out.push_back(*i);
  };
  const Step& step = steps[index];
  const std::optional<std::size_t> fall_through =
      index + 1 < steps.size() ? std::optional<std::size_t>(index + 1) : std::nullopt;
  if (const auto* branch = std::get_if<BranchStep>(&step.action)) {
    for (const auto& c : branch->cases) add(step_index(c.target));
    add(branch->else_target.empty() ? fall_through : step_index(branch->else_target));
  } else if (const auto* split = std::get_if<SplitStep>(&step.action)) {
    for (const auto& arm : split->arms) add(step_index(arm.target));
  } else if (std::holds_alternative<ExitStep>(step.action)) {
    // ends the enrollment
  } else {
    add(next_after(index));
    if (const auto* wait_for = std::get_if<WaitForStep>(&step.action); wait_for && !wait_for->on_timeout.empty()) {
      add(step_index(wait_for->on_timeout));
    }
  }
  return out;
}

bool Workflow::has_way_back() const {
  for (std::size_t i = 0; i < steps.size(); ++i) {
    for (std::size_t next : successors(i)) {
      if (next <= i) return true;
    }
  }
  return false;
}

Workflow parse_workflow_text(const std::string& text, const std::string& shown_name,
                             const std::string& default_email_connector, Diagnostics& diagnostics) {
  auto root = parse_yaml_text(text, shown_name, diagnostics);
  if (!root) return Workflow{};
  YamlContext context(shown_name, diagnostics);
  WorkflowParser parser(context, default_email_connector);
  Workflow workflow = parser.parse(*root);
  workflow.source = text;
  return workflow;
}

Workflow parse_workflow_file(const std::filesystem::path& path, const std::string& shown_name,
                             const std::string& default_email_connector, Diagnostics& diagnostics) {
  std::ifstream in(path);
  if (!in) {
    diagnostics.push_back({Severity::error, {shown_name, 0, 0}, "cannot read the file", "check the path"});
    return Workflow{};
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse_workflow_text(buffer.str(), shown_name, default_email_connector, diagnostics);
}

tl::expected<Workflow, Diagnostics> load_workflow(const std::filesystem::path& path, const std::string& shown_name,
                                                  const std::string& default_email_connector) {
  Diagnostics diagnostics;
  Workflow workflow = parse_workflow_file(path, shown_name, default_email_connector, diagnostics);
  if (has_errors(diagnostics)) return tl::unexpected(std::move(diagnostics));
  return workflow;
}

EmailStep read_email_action(YamlContext& context, const YAML::Node& node, const std::string& default_email_connector) {
  EmailStep email;
  MapReader reader(context, node, "`email`", {"template", "connector", "to"});
  if (auto name = reader.string("template", true)) email.template_name = *name;
  email.connector = reader.string("connector").value_or(default_email_connector);
  email.to = reader.string("to").value_or("");
  reader.finish();
  if (reader.ok() && email.connector.empty()) {
    context.error(node, "this email step names no connector and the config has no `defaults.email`",
                   "add `connector: NAME` or set `defaults.email` in nurture.yaml");
  }
  email.where = context.where(node);
  return email;
}

PostStep read_post_action(YamlContext& context, const YAML::Node& node) {
  PostStep post;
  MapReader reader(context, node, "`post`", {"template", "connector"});
  post.template_name = reader.string("template", true).value_or("");
  post.connector = reader.string("connector", true).value_or("");
  reader.finish();
  post.where = context.where(node);
  return post;
}

WebhookStep read_webhook_action(YamlContext& context, const YAML::Node& node) {
  WebhookStep webhook;
  MapReader reader(context, node, "`webhook`", {"connector", "template"});
  webhook.connector = reader.string("connector", true).value_or("");
  webhook.template_name = reader.string("template").value_or("");
  reader.finish();
  webhook.where = context.where(node);
  return webhook;
}

}  // namespace nurture::workflows
