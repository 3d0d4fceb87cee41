#include "engine/runtime/report.hpp"

#include <cmath>

#include "engine/core/calendar.hpp"
#include "engine/core/event.hpp"
#include "workflows/duration.hpp"
#include "workflows/campaign.hpp"

#include "templates/mustache.hpp"

#include <fmt/format.h>

namespace nurture::engine {

long counter_value(const CounterMap& counters, const std::string& field) {
  auto it = counters.find(field);
  return it == counters.end() ? 0 : it->second;
}

// `PREFIXrevenue:CUR` and `PREFIXorders:CUR` counters.
Revenue revenue_of(const CounterMap& counters, const std::string& prefix) {
  Revenue revenue;
  for (auto it = counters.lower_bound(prefix + "revenue:"); it != counters.end(); ++it) {
    if (it->first.rfind(prefix + "revenue:", 0) != 0) break;
    const std::string currency = it->first.substr(prefix.size() + 8);
    if (currency.find(':') != std::string::npos) continue;
    revenue.cents[currency] = it->second;
    revenue.orders[currency] = counter_value(counters, prefix + "orders:" + currency);
  }
  return revenue;
}

// {"EUR": 1234.5}: amounts in the currency's unit.
nlohmann::ordered_json revenue_json(const Revenue& revenue) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const auto& [currency, cents] : revenue.cents) out[currency] = static_cast<double>(cents) / 100;
  return out;
}

nlohmann::ordered_json per_send_json(const Revenue& revenue, long sent) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  if (sent <= 0) return out;
  for (const auto& [currency, cents] : revenue.cents) {
    out[currency] = std::round(static_cast<double>(cents) / static_cast<double>(sent)) / 100;
  }
  return out;
}

// "EUR 1234.50 in 3 orders, 41.15 per send"
std::string revenue_text(const Revenue& revenue, long sent) {
  std::vector<std::string> parts;
  for (const auto& [currency, cents] : revenue.cents) {
    std::string part = fmt::format("{} {:.2f} in {} order(s)", currency, static_cast<double>(cents) / 100,
                                   revenue.orders.count(currency) ? revenue.orders.at(currency) : 0);
    if (sent > 0) part += fmt::format(", {:.2f} per send", static_cast<double>(cents) / 100 / static_cast<double>(sent));
    parts.push_back(std::move(part));
  }
  return fmt::format("{}", fmt::join(parts, "; "));
}

std::string percent(long part, long whole) {
  return whole == 0 ? "-" : fmt::format("{:.1f}%", 100.0 * static_cast<double>(part) / static_cast<double>(whole));
}

double two_proportion_p_value(long x1, long n1, long x2, long n2) {
  if (n1 <= 0 || n2 <= 0) return 1.0;
  const double p1 = static_cast<double>(x1) / static_cast<double>(n1);
  const double p2 = static_cast<double>(x2) / static_cast<double>(n2);
  const double pooled = static_cast<double>(x1 + x2) / static_cast<double>(n1 + n2);
  const double se = std::sqrt(pooled * (1 - pooled) * (1.0 / static_cast<double>(n1) + 1.0 / static_cast<double>(n2)));
  if (se == 0) return 1.0;
  return std::erfc(std::abs(p1 - p2) / se / std::sqrt(2.0));
}

namespace {

bool has_goals(const workflows::Workflow& workflow) {
  for (const auto& rule : workflow.exit_when) {
    if (!rule.goal.empty()) return true;
  }
  for (const auto& step : workflow.steps) {
    if (const auto* exit = std::get_if<workflows::ExitStep>(&step.action); exit && !exit->goal.empty()) return true;
  }
  return false;
}

SplitReport split_report(const workflows::Workflow& workflow, const workflows::Step& step,
                         const workflows::SplitStep& split, const CounterMap& c) {
  SplitReport r;
  r.step = step.id;
  const bool by_goals = has_goals(workflow);
  r.metric = by_goals ? "conversion" : "click rate";
  for (std::size_t k = 0; k < split.arms.size(); ++k) {
    const std::string prefix = fmt::format("split:{}:{}:", step.id, k);
    ArmReport arm;
    arm.arm = static_cast<int>(k);
    arm.target = split.arms[k].target;
    arm.weight = split.arms[k].weight;
    arm.entered = counter_value(c, prefix + "entered");
    arm.sent = counter_value(c, prefix + "sent");
    arm.opened = counter_value(c, prefix + "opened");
    arm.clicked = counter_value(c, prefix + "clicked");
    arm.goals = counter_value(c, prefix + "goals");
    arm.revenue = revenue_of(c, prefix);
    arm.successes = by_goals ? arm.goals : arm.clicked;
    arm.trials = by_goals ? arm.entered : arm.sent;
    r.arms.push_back(arm);
  }
  judge_split(r);
  return r;
}

}  // namespace

void judge_split(SplitReport& r) {
  const ArmReport* leader = nullptr;
  int with_trials = 0;
  for (const auto& arm : r.arms) {
    if (arm.trials == 0) continue;
    ++with_trials;
    if (!leader || arm.rate() > leader->rate()) leader = &arm;
  }
  if (with_trials < 2) return;
  double worst = 0;
  for (const auto& arm : r.arms) {
    if (&arm == leader || arm.trials == 0) continue;
    worst = std::max(worst, arm.rate() == leader->rate()
                                ? 1.0
                                : two_proportion_p_value(leader->successes, leader->trials, arm.successes, arm.trials));
  }
  r.p_value = worst;
  if (worst < 0.05) r.winner = leader->target;
}

StepReport step_report(const CounterMap& c, const std::string& step, const std::string& action) {
  const std::string prefix = "step:" + step + ":";
  StepReport s;
  s.step = step;
  s.action = action;
  s.reached = counter_value(c, prefix + "reached");
  s.sent = counter_value(c, prefix + "sent");
  // Refused by the provider as undeliverable counts as failed: it was tried and did not arrive.
  s.failed = counter_value(c, prefix + "failed") + counter_value(c, prefix + "suppressed");
  s.skipped = counter_value(c, prefix + "skipped");
  s.opened = counter_value(c, prefix + "opened");
  s.clicked = counter_value(c, prefix + "clicked");
  s.revenue = revenue_of(c, prefix);
  return s;
}

std::vector<WorkflowReport> build_report(const workflows::Campaign& campaign,
                                         const std::map<std::string, CounterMap>& counters,
                                         const std::map<std::string, std::vector<int>>& versions) {
  std::vector<WorkflowReport> report;
  for (const auto& workflow : campaign.workflows) {
    auto found = counters.find(workflow.id);
    const CounterMap empty;
    const CounterMap& c = found == counters.end() ? empty : found->second;
    WorkflowReport r;
    r.workflow = workflow.id;
    if (auto pinned = versions.find(workflow.id); pinned != versions.end() && !pinned->second.empty()) {
      r.versions = pinned->second;
      r.version = pinned->second.back();
    } else {
      r.versions = {1};
    }
    r.entered = counter_value(c, "entered");
    r.completed = counter_value(c, "completed");
    r.exited = counter_value(c, "exited");
    r.active = std::max(0L, r.entered - r.completed - r.exited);
    for (const auto& [field, value] : c) {
      if (field.rfind("goal:", 0) == 0) r.goals[field.substr(5)] = value;
      if (field.rfind("sent:", 0) == 0) r.sent_per_day[field.substr(5)] = value;
    }
    for (const auto& step : workflow.steps) {
      const StepReport s = step_report(c, step.id, std::string(step.kind()));
      r.sent += s.sent;
      r.steps.push_back(s);
      if (const auto* split = std::get_if<workflows::SplitStep>(&step.action)) {
        r.splits.push_back(split_report(workflow, step, *split, c));
      }
    }
    r.revenue = revenue_of(c, "");
    report.push_back(std::move(r));
  }
  return report;
}

nlohmann::ordered_json report_json(const std::vector<WorkflowReport>& report) {
  nlohmann::ordered_json workflows = nlohmann::ordered_json::array();
  for (const auto& r : report) {
    nlohmann::ordered_json w;
    w["workflow"] = r.workflow;
    w["version"] = r.version;
    w["versions"] = r.versions;
    w["entered"] = r.entered;
    w["active"] = r.active;
    w["completed"] = r.completed;
    w["exited"] = r.exited;
    w["goals"] = nlohmann::ordered_json::object();
    for (const auto& [goal, n] : r.goals) w["goals"][goal] = n;
    w["steps"] = nlohmann::ordered_json::array();
    for (const auto& s : r.steps) {
      w["steps"].push_back({{"step", s.step},
                            {"action", s.action},
                            {"reached", s.reached},
                            {"sent", s.sent},
                            {"failed", s.failed},
                            {"skipped", s.skipped},
                            {"opened", s.opened},
                            {"clicked", s.clicked}});
      if (!s.revenue.empty()) {
        w["steps"].back()["revenue"] = revenue_json(s.revenue);
        w["steps"].back()["revenue_per_send"] = per_send_json(s.revenue, s.sent);
      }
    }
    // Beyond the report's documented shape (additive): A/B results and sends per day.
    w["splits"] = nlohmann::ordered_json::array();
    for (const auto& split : r.splits) {
      nlohmann::ordered_json arms = nlohmann::ordered_json::array();
      for (const auto& a : split.arms) {
        arms.push_back({{"arm", a.arm},
                        {"goto", a.target},
                        {"weight", a.weight},
                        {"entered", a.entered},
                        {"sent", a.sent},
                        {"opened", a.opened},
                        {"clicked", a.clicked},
                        {"goals", a.goals},
                        {"rate", a.rate()}});
        if (!a.revenue.empty()) {
          arms.back()["revenue"] = revenue_json(a.revenue);
          arms.back()["revenue_per_send"] = per_send_json(a.revenue, a.sent);
        }
      }
      w["splits"].push_back({{"step", split.step},
                             {"metric", split.metric},
                             {"arms", arms},
                             {"p_value", split.p_value ? nlohmann::ordered_json(*split.p_value) : nullptr},
                             {"winner", split.winner.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(split.winner)}});
    }
    w["revenue"] = revenue_json(r.revenue);
    w["revenue_per_send"] = per_send_json(r.revenue, r.sent);
    w["sent_per_day"] = nlohmann::ordered_json::object();
    for (const auto& [day, n] : r.sent_per_day) w["sent_per_day"][day] = n;
    workflows.push_back(std::move(w));
  }
  return {{"workflows", workflows}};
}

std::string split_verdict(const SplitReport& split) {
  if (!split.p_value) return "not enough data yet";
  if (!split.winner.empty()) return fmt::format("winner {} (p = {:.3g})", split.winner, *split.p_value);
  return fmt::format("no winner yet (p = {:.3g}, needs < 0.05)", *split.p_value);
}

namespace {
std::string split_table(const SplitReport& split) {
  std::string out = fmt::format("  split {} ({}): {}\n", split.step, split.metric, split_verdict(split));
  out += fmt::format("    {:<16} {:>6} {:>8} {:>8} {:>7} {:>8} {:>7} {:>8}\n", "arm", "weight", "entered", "sent",
                     "opened", "clicked", "goals", split.metric == "conversion" ? "conv." : "CTR");
  for (const auto& a : split.arms) {
    out += fmt::format("    {:<16} {:>6} {:>8} {:>8} {:>7} {:>8} {:>7} {:>8}\n", a.target, a.weight, a.entered, a.sent,
                       a.opened, a.clicked, a.goals, percent(a.successes, a.trials));
  }
  for (const auto& a : split.arms) {
    if (!a.revenue.empty()) out += fmt::format("    revenue of {}: {}\n", a.target, revenue_text(a.revenue, a.sent));
  }
  return out;
}
}  // namespace

std::string report_table(const std::vector<WorkflowReport>& report) {
  std::string out;
  for (const auto& r : report) {
    long goals = 0;
    for (const auto& [goal, n] : r.goals) goals += n;
    const std::string since = r.versions.size() > 1 ? fmt::format(", counts since version {}", r.versions.front()) : "";
    out += fmt::format("{} (version {}{}): entered {}, active {}, completed {}, exited {}, goals {} (conversion {})\n",
                       r.workflow, r.version, since, r.entered, r.active, r.completed, r.exited, goals,
                       percent(goals, r.entered));
    for (const auto& [goal, n] : r.goals) out += fmt::format("  goal {}: {}\n", goal, n);
    if (!r.revenue.empty()) out += fmt::format("  revenue: {}\n", revenue_text(r.revenue, r.sent));
    out += fmt::format("  {:<16} {:<10} {:>8} {:>8} {:>7} {:>8} {:>7} {:>8} {:>7}\n", "step", "action", "reached",
                       "sent", "failed", "skipped", "opened", "clicked", "CTR");
    for (const auto& s : r.steps) {
      out += fmt::format("  {:<16} {:<10} {:>8} {:>8} {:>7} {:>8} {:>7} {:>8} {:>7}\n", s.step, s.action, s.reached,
                         s.sent, s.failed, s.skipped, s.opened, s.clicked,
                         s.action == "email" ? percent(s.clicked, s.sent) : "");
    }
    for (const auto& s : r.steps) {
      if (!s.revenue.empty()) out += fmt::format("  revenue of {}: {}\n", s.step, revenue_text(s.revenue, s.sent));
    }
    for (const auto& split : r.splits) out += split_table(split);
    out += "\n";
  }
  return out;
}


namespace {

std::string wait_text(const workflows::Step& step) {
  if (const auto* wait = std::get_if<workflows::WaitStep>(&step.action)) {
    return "the wait of " + workflows::format_duration(wait->duration) + " to end";
  }
  if (const auto* until = std::get_if<workflows::WaitUntilStep>(&step.action)) {
    return until->attr.empty() ? "the time of day it waits until" : "the date in attribute " + until->attr;
  }
  if (const auto* wait_for = std::get_if<workflows::WaitForStep>(&step.action)) {
    return "event " + wait_for->event + " (or the timeout of " + workflows::format_duration(wait_for->timeout) + ")";
  }
  return step.is_delivery() ? "the send window" : "";
}

}  // namespace

const std::vector<StepNames::StepInfo>& StepNames::steps_of(const std::string& workflow, int version) {
  auto [it, added] = steps_.try_emplace({workflow, version});
  if (added) {
    workflows::Diagnostics ignored;
    const auto parsed =
        workflows::parse_workflow_text(store_.workflow_version(workflow, version), workflow, "default", ignored);
    for (const auto& step : parsed.steps) it->second.push_back({step.id, wait_text(step)});
  }
  return it->second;
}

std::string StepNames::of(const std::string& workflow, const Enrollment& enrollment) {
  const auto& steps = steps_of(workflow, enrollment.version);
  if (enrollment.step < steps.size()) return steps[enrollment.step].id;
  return fmt::format("#{}", enrollment.step + 1);
}

std::string StepNames::waits_for(const std::string& workflow, const Enrollment& enrollment) {
  if (!enrollment.active()) return "";
  if (enrollment.status == EnrollmentStatus::deferred) return "the send window";
  const auto& steps = steps_of(workflow, enrollment.version);
  return enrollment.step < steps.size() ? steps[enrollment.step].waits_for : "";
}

namespace {

// The lead's `timezone` attribute when it names a zone, else UTC.
std::string lead_timezone(const LeadSnapshot& lead) {
  const auto zone = lead.attrs.find("timezone");
  if (zone != lead.attrs.end() && zone->is_string() && is_valid_timezone(zone->get<std::string>())) {
    return zone->get<std::string>();
  }
  return "UTC";
}

}  // namespace

nlohmann::ordered_json lead_profile_json(const LeadSnapshot& lead, Store& store) {
  StepNames steps(store);
  auto step_name = [&](const std::string& workflow, const Enrollment& e) { return steps.of(workflow, e); };
  auto status_name = [](EnrollmentStatus status) {
    switch (status) {
      case EnrollmentStatus::waiting: return "waiting";
      case EnrollmentStatus::waiting_for: return "waiting for an event";
      case EnrollmentStatus::deferred: return "waiting for the send window";
      case EnrollmentStatus::completed: return "completed";
      case EnrollmentStatus::exited: return "exited";
    }
    return "?";
  };
  nlohmann::ordered_json out;
  out["lead"] = lead.id;
  out["attrs"] = lead.attrs;
  out["score"] = score_shown(lead.score);
  out["score_at"] = format_rfc3339(from_unix_ms(lead.score_at_ms));
  out["stage"] = lead.stage.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(lead.stage);
  out["stage_history"] = nlohmann::ordered_json::array();
  for (const auto& [stage, at_ms] : lead.stage_history) {
    out["stage_history"].push_back({{"stage", stage}, {"at", format_rfc3339(from_unix_ms(at_ms))}});
  }
  out["tags"] = lead.tags;
  out["suppressed"] = lead.suppressed;
  out["segments"] = lead.segments;
  out["broadcasts"] = nlohmann::ordered_json::object();  // broadcast -> variant (1-based; null without a split)
  for (const auto& [broadcast, variant] : lead.broadcasts) {
    out["broadcasts"][broadcast] = variant >= 0 ? nlohmann::ordered_json(variant + 1) : nlohmann::ordered_json(nullptr);
  }
  out["enrollments"] = nlohmann::ordered_json::array();
  const std::string zone = lead_timezone(lead);
  for (const auto& [workflow, e] : lead.enrollments) {
    nlohmann::ordered_json enrollment = {{"workflow", workflow},
                                         {"version", e.version},
                                         {"number", e.number},
                                         {"status", status_name(e.status)},
                                         {"step", step_name(workflow, e)},
                                         {"entered", format_rfc3339(from_unix_ms(e.entered_ms))}};
    if (e.active()) {
      // What it waits for and until when: its timer, in UTC and in the lead's own zone.
      enrollment["waits_for"] = steps.waits_for(workflow, e);
      if (const auto due = store.timer_due(TimerRef{lead.id, workflow, e.seq})) {
        enrollment["until"] = format_rfc3339(*due);
        enrollment["until_local"] = local_time_text(*due, zone);
      }
    }
    out["enrollments"].push_back(std::move(enrollment));
  }
  out["history"] = nlohmann::ordered_json::array();
  for (const auto& h : lead.history) {
    out["history"].push_back({{"at", format_rfc3339(from_unix_ms(h.at_ms))},
                              {"type", h.type},
                              {"workflow", h.workflow},
                              {"step", h.step}});
  }
  return out;
}

}  // namespace nurture::engine
