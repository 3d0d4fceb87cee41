// The broadcasts' part of `nurture report` and `nurture broadcast list|show`.

#include <fmt/format.h>

#include "engine/core/broadcast_plan.hpp"
#include "engine/core/event.hpp"
#include "engine/runtime/report.hpp"

namespace nurture::engine {

namespace {

std::string when_text(const workflows::Broadcast& broadcast, const std::string& default_zone) {
  if (broadcast.at) return format_rfc3339(*broadcast.at);
  if (broadcast.lead_timezone) {
    return fmt::format("{} in each lead's zone (else {})", broadcast.at_local,
                       broadcast.fallback.empty() ? default_zone : broadcast.fallback);
  }
  return fmt::format("{} {}", broadcast.at_local, broadcast.timezone.empty() ? default_zone : broadcast.timezone);
}

std::string state_of(const workflows::Broadcast& broadcast, Store& store, TimePoint now, bool cancelled,
                     const std::string& winner, const std::string& default_zone) {
  if (cancelled) return "cancelled";
  const std::string done = store.read_meta("broadcast:" + broadcast.id + ":done");
  if (done == "late") return "passed over";
  if (!done.empty()) return "sent";
  if (now < broadcast_opens(broadcast, default_zone)) return "scheduled";
  return broadcast.split && winner.empty() ? "testing" : "sending";
}

}  // namespace

std::vector<BroadcastReport> build_broadcast_report(const workflows::Campaign& campaign, Store& store, TimePoint now) {
  std::vector<BroadcastReport> report;
  const auto paused = store.paused_workflows();
  for (const auto& broadcast : campaign.broadcasts) {
    const std::string workflow = broadcast_workflow(broadcast.id);
    const CounterMap c = store.workflow_counters(workflow);
    BroadcastReport r;
    static_cast<StepReport&>(r) = step_report(c, broadcast.id, broadcast.kind());
    r.broadcast = broadcast.id;
    r.segment = broadcast.segment;
    r.when = when_text(broadcast, campaign.config.default_timezone);
    const std::string winner = store.read_meta("broadcast:" + broadcast.id + ":winner");
    if (const auto picked = stored_number(winner); picked && broadcast.split && *picked >= 0 &&
                                                   static_cast<std::size_t>(*picked) < broadcast.split->templates.size()) {
      r.picked = broadcast.template_for(static_cast<int>(*picked));
    }
    if (broadcast.split) {
      SplitReport split;
      split.step = broadcast.id;
      split.metric = broadcast.split->pick_by == "opens" ? "open rate" : "click rate";
      for (std::size_t k = 0; k < broadcast.split->templates.size(); ++k) {
        const std::string arm_prefix = fmt::format("split:{}:{}:", broadcast.id, k);
        ArmReport arm;
        arm.arm = static_cast<int>(k);
        arm.target = broadcast.split->templates[k];
        arm.entered = counter_value(c, arm_prefix + "action");
        arm.sent = counter_value(c, arm_prefix + "sent");
        arm.opened = counter_value(c, arm_prefix + "opened");
        arm.clicked = counter_value(c, arm_prefix + "clicked");
        arm.revenue = revenue_of(c, arm_prefix);
        arm.successes = broadcast.split->pick_by == "opens" ? arm.opened : arm.clicked;
        arm.trials = arm.sent;
        split.arms.push_back(arm);
      }
      judge_split(split);
      r.split = std::move(split);
    }
    r.state = state_of(broadcast, store, now, paused.count(workflow) > 0, winner, campaign.config.default_timezone);
    report.push_back(std::move(r));
  }
  return report;
}

nlohmann::ordered_json broadcast_report_json(const std::vector<BroadcastReport>& report) {
  nlohmann::ordered_json all = nlohmann::ordered_json::array();
  for (const auto& r : report) {
    nlohmann::ordered_json b{{"broadcast", r.broadcast}, {"segment", r.segment}, {"at", r.when},
                             {"state", r.state},         {"reached", r.reached}, {"sent", r.sent},
                             {"failed", r.failed},       {"skipped", r.skipped}, {"opened", r.opened},
                             {"clicked", r.clicked}};
    b["revenue"] = revenue_json(r.revenue);
    b["revenue_per_send"] = per_send_json(r.revenue, r.sent);
    if (r.split) {
      nlohmann::ordered_json variants = nlohmann::ordered_json::array();
      for (const auto& a : r.split->arms) {
        variants.push_back({{"variant", a.arm + 1}, {"template", a.target}, {"sent", a.sent}, {"opened", a.opened},
                            {"clicked", a.clicked}, {"rate", a.rate()}});
        if (!a.revenue.empty()) {
          variants.back()["revenue"] = revenue_json(a.revenue);
          variants.back()["revenue_per_send"] = per_send_json(a.revenue, a.sent);
        }
      }
      b["split"] = {{"metric", r.split->metric},
                    {"variants", variants},
                    {"p_value", r.split->p_value ? nlohmann::ordered_json(*r.split->p_value) : nullptr},
                    {"winner", r.split->winner.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(r.split->winner)},
                    {"sent_to_rest", r.picked.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(r.picked)}};
    }
    all.push_back(std::move(b));
  }
  return all;
}

std::string broadcast_report_table(const std::vector<BroadcastReport>& report) {
  std::string out;
  for (const auto& r : report) {
    out += fmt::format("broadcast {} to {} at {}: {}\n", r.broadcast, r.segment, r.when, r.state);
    out += fmt::format("  reached {}, sent {}, failed {}, skipped {}, opened {}, clicked {} (CTR {})\n", r.reached,
                       r.sent, r.failed, r.skipped, r.opened, r.clicked, percent(r.clicked, r.sent));
    if (!r.revenue.empty()) out += fmt::format("  revenue: {}\n", revenue_text(r.revenue, r.sent));
    if (r.split) {
      out += fmt::format("  split ({}): {}; {}\n", r.split->metric, split_verdict(*r.split),
                         r.picked.empty() ? "the rest waits for the pick" : "the rest got " + r.picked);
      out += fmt::format("    {:<16} {:>8} {:>7} {:>8} {:>8}\n", "variant", "sent", "opened", "clicked", "rate");
      for (const auto& a : r.split->arms) {
        out += fmt::format("    {:<16} {:>8} {:>7} {:>8} {:>8}\n", a.target, a.sent, a.opened, a.clicked,
                           percent(a.successes, a.trials));
      }
      for (const auto& a : r.split->arms) {
        if (!a.revenue.empty()) out += fmt::format("    revenue of {}: {}\n", a.target, revenue_text(a.revenue, a.sent));
      }
    }
    out += "\n";
  }
  return out;
}

}  // namespace nurture::engine
