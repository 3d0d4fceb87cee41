#pragma once
// `nurture report`: the funnel per workflow and step, from the counters the engine keeps in the store
// (the JSON shape).

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/core/lead.hpp"
#include "engine/store/store.hpp"
#include "workflows/campaign.hpp"

namespace nurture::engine {

using CounterMap = std::map<std::string, long>;  // field -> value, summed over partitions

// Attributed revenue (nurture.yaml `attribution`) by currency: cents and orders.
struct Revenue {
  std::map<std::string, long> cents, orders;  // by ISO 4217 code (`XXX`: none given)
  bool empty() const { return cents.empty(); }
};

struct StepReport {
  std::string step;
  std::string action;
  long reached = 0, sent = 0, failed = 0, skipped = 0, opened = 0, clicked = 0;
  Revenue revenue;
};

// One arm of a `split` step: who took it and what came of it afterwards in that enrollment.
struct ArmReport {
  int arm = 0;  // index in the step's list
  std::string target;
  int weight = 0;
  long entered = 0, sent = 0, opened = 0, clicked = 0, goals = 0;
  Revenue revenue;
  long successes = 0, trials = 0;  // of the split's metric
  double rate() const { return trials == 0 ? 0.0 : static_cast<double>(successes) / static_cast<double>(trials); }
};

// A split's A/B result: the leading arm against each other one in a two-proportion z-test; the winner is named
// only when the leader beats every other arm with p < 0.05 (the p-value is the largest of those tests).
struct SplitReport {
  std::string step;
  std::string metric;  // "conversion" (goals per lead, when the workflow has goals), else "click rate" (per send)
  std::vector<ArmReport> arms;
  std::optional<double> p_value;  // none until two arms have trials
  std::string winner;             // the winning arm's target; "" when there is none (yet)
};

struct WorkflowReport {
  std::string workflow;
  int version = 1;            // the version running now (the last one pinned)
  std::vector<int> versions;  // the versions the counts span: counts add up across reloads
  long entered = 0, active = 0, completed = 0, exited = 0;
  std::map<std::string, long> goals;
  std::vector<StepReport> steps;
  std::vector<SplitReport> splits;
  std::map<std::string, long> sent_per_day;  // YYYY-MM-DD (UTC) -> sends
  Revenue revenue;
  long sent = 0;  // every step's, for revenue per send
};

// A step's counts (`step:ID:reached|sent|failed|suppressed|skipped|opened|clicked`, revenue).
StepReport step_report(const CounterMap& counters, const std::string& step, const std::string& action);
// A counter's value, 0 when absent.
long counter_value(const CounterMap& counters, const std::string& field);
// The `PREFIXrevenue:CUR` and `PREFIXorders:CUR` counters.
Revenue revenue_of(const CounterMap& counters, const std::string& prefix);
// {"EUR": 1234.5} (amounts in the currency's unit), and the same per send.
nlohmann::ordered_json revenue_json(const Revenue& revenue);
nlohmann::ordered_json per_send_json(const Revenue& revenue, long sent);
// "EUR 1234.50 in 3 orders, 41.15 per send"
std::string revenue_text(const Revenue& revenue, long sent);

// Two-sided p-value of a two-proportion z-test (pooled): x1 successes of n1 against x2 of n2; 1 when either n is
// 0 or nothing varies.
double two_proportion_p_value(long x1, long n1, long x2, long n2);
// Finds the leading arm of a split's arms and tests it against each other one: sets p_value and winner.
void judge_split(SplitReport& split);
// "12.5%", or "-" when `whole` is 0.
std::string percent(long part, long whole);
// What a split's result says: "winner X (p = ...)", "no winner yet (...)", "not enough data yet".
std::string split_verdict(const SplitReport& split);

// `versions`: each workflow's pinned versions (Store::workflow_versions); a workflow without any is at version 1.
std::vector<WorkflowReport> build_report(const workflows::Campaign& campaign,
                                         const std::map<std::string, CounterMap>& counters,
                                         const std::map<std::string, std::vector<int>>& versions = {});
nlohmann::ordered_json report_json(const std::vector<WorkflowReport>& report);
std::string report_table(const std::vector<WorkflowReport>& report);
// A broadcast (broadcasts/*.yaml): where it stands and what it did, from its counters (workflow id `~b:ID`) and
// what the scheduler noted in the store's meta.
struct BroadcastReport : StepReport {  // its counts are those of its one step
  std::string broadcast, segment, when;
  // scheduled, sending, testing (the split's test is out, the winner not picked yet), sent, cancelled, passed over
  std::string state;
  std::optional<SplitReport> split;  // the variants as arms (target: the template), metric: the split's pick_by
  std::string picked;                // the variant the rest got: its template ("" before the pick)
};
std::vector<BroadcastReport> build_broadcast_report(const workflows::Campaign& campaign, Store& store, TimePoint now);
nlohmann::ordered_json broadcast_report_json(const std::vector<BroadcastReport>& report);
std::string broadcast_report_table(const std::vector<BroadcastReport>& report);

// A self-contained HTML page of the same (report_html.cpp): inline SVG charts of the funnel, the steps, sends per
// day and split arms with their significance, revenue, and each broadcast with its variants; no scripts, no
// external assets.
std::string report_html(const std::vector<WorkflowReport>& report, const std::string& title,
                        const std::vector<BroadcastReport>& broadcasts = {});

// What nurture knows of one lead, as `nurture lead show --json` and the admin API give it: attrs, score, stage, tags,
// suppression, enrollments (status and step id from the version each is pinned to) and remembered events.
nlohmann::ordered_json lead_profile_json(const LeadSnapshot& lead, Store& store);

// The id of the step an enrollment is at, from the workflow version it is pinned to as stored (`#N` when that
// version has no such step), and what a lead waiting there waits for; each version is read once.
class StepNames {
 public:
  explicit StepNames(Store& store) : store_(store) {}
  std::string of(const std::string& workflow, const Enrollment& enrollment);
  // "the wait of 2d to end", "event demo.booked (or the timeout)", "the send window", ...; "" when not waiting.
  std::string waits_for(const std::string& workflow, const Enrollment& enrollment);

 private:
  struct StepInfo {
    std::string id;
    std::string waits_for;  // at a wait step; a delivery step's is the send window
  };
  const std::vector<StepInfo>& steps_of(const std::string& workflow, int version);
  Store& store_;
  std::map<std::pair<std::string, int>, std::vector<StepInfo>> steps_;
};

}  // namespace nurture::engine
