#include "engine/report.hpp"

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

}  // namespace nurture::engine
