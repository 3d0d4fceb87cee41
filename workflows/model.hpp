#pragma once
// The typed, immutable model of a workflow. The loader builds it; the engine interprets it.
// Nothing here knows YAML.

#include <array>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "workflows/condition.hpp"
#include "workflows/diagnostic.hpp"
#include "workflows/duration.hpp"

namespace nurture::workflows {

// Days of the week, Sunday = 0 (as std::chrono::weekday::c_encoding()).
using DaySet = std::array<bool, 7>;

struct EmailStep {
  std::string template_name;
  std::string connector;  // resolved: the step's own, else config `defaults.email`
  std::string to;         // empty: the lead's `email` attribute; `attr.X`: that attribute; else an address
  SourceLocation where;
};

struct PostStep {
  std::string template_name;
  std::string connector;
  SourceLocation where;
};

struct WebhookStep {
  std::string connector;
  std::string template_name;  // optional
  SourceLocation where;
};

struct HandoffStep {
  std::string connector;
  std::string note;
  SourceLocation where;
};

struct WaitStep {
  Duration duration{};
};

// `{at: "09:00", days?}` (a time of day in the lead's zone) or `{attr: NAME, offset?}` (a date attribute).
struct WaitUntilStep {
  std::optional<int> at_minute;  // minutes after local midnight
  DaySet days{true, true, true, true, true, true, true};
  std::string attr;
  Duration offset{};
};

struct WaitForStep {
  std::string event;
  std::vector<PropTest> where;
  Duration timeout{};
  std::string on_timeout;  // step id; empty: the next step
};

struct BranchCase {
  Condition condition;
  std::string target;
};

struct BranchStep {
  std::vector<BranchCase> cases;
  std::string else_target;  // empty: no else (fall through to the next step)
};

struct SplitArm {
  int weight = 0;
  std::string target;
};

struct SplitStep {
  std::vector<SplitArm> arms;
};

struct ScoreStep {
  double points = 0;
};

struct SetStep {
  std::vector<std::pair<std::string, nlohmann::json>> attrs;  // name without `attr.`
  std::optional<std::string> stage;
  std::vector<std::string> tags;
};

struct ExitStep {
  std::string goal;
};

using StepAction = std::variant<EmailStep, PostStep, WebhookStep, HandoffStep, WaitStep, WaitUntilStep, WaitForStep,
                                BranchStep, SplitStep, ScoreStep, SetStep, ExitStep>;

struct Step {
  std::string id;           // given, or `step-N` (1-based position)
  StepAction action;
  std::string goto_target;  // empty: fall through to the next step
  SourceLocation where;

  // The action key as written in YAML: "email", "wait", ...
  std::string_view kind() const;
  // Steps that deliver something through a connector (and so respect the send window).
  bool is_delivery() const;
  // Steps that make the enrollment wait (and so break a goto loop).
  bool is_wait() const;
};

struct Trigger {
  std::string event;
  std::optional<Condition> when;
};

struct Reentry {
  enum class Policy { never, always, after };
  Policy policy = Policy::never;
  Duration after{};
};

struct ExitRule {
  std::string event;  // exits when this event arrives; empty for a condition rule
  std::string goal;   // counted as a goal when set
  std::optional<Condition> condition;
};

struct SendWindow {
  DaySet days{true, true, true, true, true, true, true};
  int from_minute = 0;       // [from, to) in local minutes after midnight
  int to_minute = 24 * 60;
  bool lead_timezone = true;  // `timezone: lead`; else `timezone` names the zone
  std::string timezone;       // the zone when not `lead`
  std::string fallback;       // when the lead has no valid zone
};

struct Workflow {
  std::string id;
  std::string name;
  std::string description;
  Trigger trigger;
  Reentry reentry;
  std::vector<ExitRule> exit_when;
  std::optional<SendWindow> send_window;
  // How late a send may go out after the moment it was due (a paused workflow resumed, a long outage, retries);
  // past it the send is skipped with reason `late`. None: late sends go out.
  std::optional<Duration> max_late;
  std::vector<Step> steps;
  SourceLocation where;
  std::string source;  // the YAML it was read from: what a version pins
  // True when some edge leads back to an earlier step or itself, so a step can be reached twice. Set by the loader
  // (has_way_back()): the interpreter asks on every timer, and working it out walks the whole graph.
  bool may_revisit = false;

  std::optional<std::size_t> step_index(std::string_view step_id) const;
  // Where execution goes after step `index` ran: its goto, else the next step; nullopt past the end.
  std::optional<std::size_t> next_after(std::size_t index) const;
  // Works out may_revisit from the steps.
  bool has_way_back() const;
  // Every step id that step `index` may continue with (goto, fall-through, branch/split/timeout targets).
  std::vector<std::size_t> successors(std::size_t index) const;
};

// A scheduled social post (`posts/*.yaml`): published once to each connector at its time, rendered with no lead.
struct ScheduledPost {
  std::string id;
  std::chrono::system_clock::time_point at;
  std::vector<std::string> connectors;
  std::string template_name;
  SourceLocation where;
};

// A broadcast's A/B test (`split`): each variant (a template) to its share of a test group, then, `wait` after
// the last test send, the variant that did best by `pick_by` to the rest of the segment.
struct BroadcastSplit {
  int test_share = 0;                  // percent of the segment in the test group, 1..99
  std::vector<std::string> templates;  // one per variant, in the file's order
  std::string pick_by = "clicks";      // opens | clicks (per send)
  Duration wait{};
};

// One send to a segment (`broadcasts/*.yaml`), once per lead.
struct Broadcast {
  std::string id;
  std::string segment;
  // `at` without a zone: a wall-clock time ("2026-04-01T09:00") in `timezone`, or in each lead's zone.
  std::string at_local;
  // `at` with its zone: one instant for everyone.
  std::optional<std::chrono::system_clock::time_point> at;
  bool lead_timezone = false;  // `timezone: lead`
  std::string timezone;        // the zone of at_local when not the lead's; "" = the config's default_timezone
  std::string fallback;        // for a lead without a valid `timezone`; "" = the config's default_timezone
  std::variant<EmailStep, PostStep, WebhookStep> action;
  std::optional<Rate> throttle;  // `throttle: "2000/m"`
  std::optional<BroadcastSplit> split;
  SourceLocation where;

  // The template a variant sends (-1: no split, or the action's own).
  const std::string& template_for(int variant) const;
  const char* kind() const;  // email, post, webhook
};

// Calls `visit` for every condition of the workflow: its trigger's `when`, exit rules, branch cases.
template <typename Visit>
void for_each_condition(const Workflow& workflow, Visit&& visit) {
  if (workflow.trigger.when) visit(*workflow.trigger.when);
  for (const auto& rule : workflow.exit_when) {
    if (rule.condition) visit(*rule.condition);
  }
  for (const auto& step : workflow.steps) {
    if (const auto* branch = std::get_if<BranchStep>(&step.action)) {
      for (const auto& c : branch->cases) visit(c.condition);
    }
  }
}

}  // namespace nurture::workflows
