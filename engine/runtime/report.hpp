#pragma once
// `nurture report`: the funnel per workflow and step, from the counters the engine keeps in the store
// (the JSON shape).

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/core/lead.hpp"
#include "engine/store/store.hpp"
#include "workflows/campaign.hpp"

namespace nurture::engine {

using CounterMap = std::map<std::string, long>;  // field -> value, summed over partitions

struct StepReport {
  std::string step;
  std::string action;
  long reached = 0, sent = 0, failed = 0, skipped = 0, opened = 0, clicked = 0;
};

struct WorkflowReport {
  std::string workflow;
  int version = 1;
  long entered = 0, active = 0, completed = 0, exited = 0;
  std::map<std::string, long> goals;
  std::vector<StepReport> steps;
};

std::vector<WorkflowReport> build_report(const workflows::Campaign& campaign,
                                         const std::map<std::string, CounterMap>& counters);
nlohmann::ordered_json report_json(const std::vector<WorkflowReport>& report);
std::string report_table(const std::vector<WorkflowReport>& report);
// A self-contained HTML page of the same funnel (no scripts, no external assets).
std::string report_html(const std::vector<WorkflowReport>& report, const std::string& title);

// What nurture knows of one lead, as `nurture lead show --json` and the admin API give it: attrs, score, stage, tags,
// suppression, enrollments (status and step id from the version each is pinned to) and remembered events.
nlohmann::ordered_json lead_profile_json(const LeadSnapshot& lead, Store& store);

// The id of the step an enrollment is at, from the workflow version it is pinned to as stored (`#N` when that
// version has no such step); each version is read once.
class StepNames {
 public:
  explicit StepNames(Store& store) : store_(store) {}
  std::string of(const std::string& workflow, const Enrollment& enrollment);

 private:
  Store& store_;
  std::map<std::pair<std::string, int>, std::vector<std::string>> steps_;
};

}  // namespace nurture::engine
