#include "engine/runtime/feedback_recorder.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "engine/core/event.hpp"

namespace nurture::engine {

FeedbackOutcome record_feedback(Store& store, const std::vector<Feedback>& reports) {
  FeedbackOutcome outcome;
  std::vector<StreamFields> events;
  for (const Feedback& report : reports) {
    if (!report.address.empty()) {
      store.suppress("email", report.address);
      ++outcome.suppressed;
    }
    std::string lead = report.lead;
    if (lead.empty() && !report.action_id.empty()) lead = store.lead_of_action(report.action_id);
    if (lead.empty()) {
      // The address is suppressed all the same; no lead to tell.
      spdlog::warn("{} for {} (action {}) names no lead we know; the address is suppressed", report.type,
                   report.address, report.action_id.empty() ? "unknown" : report.action_id);
      ++outcome.unmatched;
      continue;
    }
    Event event;
    event.type = report.type;
    event.lead = lead;
    event.at = report.at;
    event.id = report.event_id;
    event.props = {{"action_id", report.action_id}, {"reason", report.reason}, {"address", report.address}};
    if (!report.workflow.empty()) event.props["workflow"] = report.workflow;
    if (!report.step.empty()) event.props["step"] = report.step;
    events.push_back(to_stream_fields(event));
    ++outcome.events;
  }
  if (!events.empty()) store.add_events(events);
  return outcome;
}

}  // namespace nurture::engine
