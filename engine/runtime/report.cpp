#include "engine/runtime/report.hpp"

#include "engine/core/event.hpp"
#include "workflows/campaign.hpp"

#include "templates/mustache.hpp"

#include <fmt/format.h>

namespace nurture::engine {

namespace {
long get(const CounterMap& counters, const std::string& field) {
  auto it = counters.find(field);
  return it == counters.end() ? 0 : it->second;
}
std::string percent(long part, long whole) {
  return whole == 0 ? "-" : fmt::format("{:.1f}%", 100.0 * static_cast<double>(part) / static_cast<double>(whole));
}
}  // namespace

std::vector<WorkflowReport> build_report(const workflows::Campaign& campaign,
                                         const std::map<std::string, CounterMap>& counters) {
  std::vector<WorkflowReport> report;
  for (const auto& workflow : campaign.workflows) {
    auto found = counters.find(workflow.id);
    const CounterMap empty;
    const CounterMap& c = found == counters.end() ? empty : found->second;
    WorkflowReport r;
    r.workflow = workflow.id;
    r.entered = get(c, "entered");
    r.completed = get(c, "completed");
    r.exited = get(c, "exited");
    r.active = std::max(0L, r.entered - r.completed - r.exited);
    for (const auto& [field, value] : c) {
      if (field.rfind("goal:", 0) == 0) r.goals[field.substr(5)] = value;
    }
    for (const auto& step : workflow.steps) {
      const std::string prefix = "step:" + step.id + ":";
      StepReport s;
      s.step = step.id;
      s.action = std::string(step.kind());
      s.reached = get(c, prefix + "reached");
      s.sent = get(c, prefix + "sent");
      // Refused by the provider as undeliverable counts as failed: it was tried and did not arrive.
      s.failed = get(c, prefix + "failed") + get(c, prefix + "suppressed");
      s.skipped = get(c, prefix + "skipped");
      s.opened = get(c, prefix + "opened");
      s.clicked = get(c, prefix + "clicked");
      r.steps.push_back(s);
    }
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
    }
    workflows.push_back(std::move(w));
  }
  return {{"workflows", workflows}};
}

std::string report_table(const std::vector<WorkflowReport>& report) {
  std::string out;
  for (const auto& r : report) {
    long goals = 0;
    for (const auto& [goal, n] : r.goals) goals += n;
    out += fmt::format("{} (version {}): entered {}, active {}, completed {}, exited {}, goals {} (conversion {})\n",
                       r.workflow, r.version, r.entered, r.active, r.completed, r.exited, goals,
                       percent(goals, r.entered));
    for (const auto& [goal, n] : r.goals) out += fmt::format("  goal {}: {}\n", goal, n);
    out += fmt::format("  {:<16} {:<10} {:>8} {:>8} {:>7} {:>8} {:>7} {:>8} {:>7}\n", "step", "action", "reached",
                       "sent", "failed", "skipped", "opened", "clicked", "CTR");
    for (const auto& s : r.steps) {
      out += fmt::format("  {:<16} {:<10} {:>8} {:>8} {:>7} {:>8} {:>7} {:>8} {:>7}\n", s.step, s.action, s.reached,
                         s.sent, s.failed, s.skipped, s.opened, s.clicked,
                         s.action == "email" ? percent(s.clicked, s.sent) : "");
    }
    out += "\n";
  }
  return out;
}


std::string report_html(const std::vector<WorkflowReport>& report, const std::string& title) {
  std::string out = fmt::format(
      "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{0}</title>\n<style>body{{font-family:sans-serif;"
      "margin:2em}}table{{border-collapse:collapse;margin-bottom:2em}}th,td{{border:1px solid #ccc;padding:4px 8px;"
      "text-align:right}}th:first-child,td:first-child,td:nth-child(2){{text-align:left}}</style></head>\n<body>"
      "<h1>{0}</h1>\n",
      templates::escape_html(title));
  for (const auto& r : report) {
    long goals = 0;
    for (const auto& [goal, n] : r.goals) goals += n;
    out += fmt::format("<h2>{} <small>(version {})</small></h2>\n<p>entered {}, active {}, completed {}, exited {}, "
                       "goals {} (conversion {})</p>\n",
                       templates::escape_html(r.workflow), r.version, r.entered, r.active, r.completed, r.exited, goals,
                       percent(goals, r.entered));
    if (!r.goals.empty()) {
      out += "<ul>";
      for (const auto& [goal, n] : r.goals) out += fmt::format("<li>{}: {}</li>", templates::escape_html(goal), n);
      out += "</ul>\n";
    }
    out += "<table><tr><th>step</th><th>action</th><th>reached</th><th>sent</th><th>failed</th><th>skipped</th>"
           "<th>opened</th><th>clicked</th><th>CTR</th></tr>\n";
    for (const auto& s : r.steps) {
      out += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
                         "<td>{}</td></tr>\n",
                         templates::escape_html(s.step), templates::escape_html(s.action), s.reached, s.sent, s.failed, s.skipped, s.opened,
                         s.clicked, s.action == "email" ? percent(s.clicked, s.sent) : "");
    }
    out += "</table>\n";
  }
  return out + "</body></html>\n";
}


std::string StepNames::of(const std::string& workflow, const Enrollment& enrollment) {
  auto [it, added] = steps_.try_emplace({workflow, enrollment.version});
  if (added) {
    workflows::Diagnostics ignored;
    const auto parsed = workflows::parse_workflow_text(store_.workflow_version(workflow, enrollment.version), workflow,
                                                       "default", ignored);
    for (const auto& step : parsed.steps) it->second.push_back(step.id);
  }
  if (enrollment.step < it->second.size()) return it->second[enrollment.step];
  return fmt::format("#{}", enrollment.step + 1);
}

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
  out["score"] = std::lround(lead.score);
  out["stage"] = lead.stage.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(lead.stage);
  out["tags"] = lead.tags;
  out["suppressed"] = lead.suppressed;
  out["segments"] = lead.segments;
  out["enrollments"] = nlohmann::ordered_json::array();
  for (const auto& [workflow, e] : lead.enrollments) {
    out["enrollments"].push_back({{"workflow", workflow},
                                  {"version", e.version},
                                  {"number", e.number},
                                  {"status", status_name(e.status)},
                                  {"step", step_name(workflow, e)},
                                  {"entered", format_rfc3339(from_unix_ms(e.entered_ms))}});
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
