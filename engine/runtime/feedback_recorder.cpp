#include "engine/runtime/feedback_recorder.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "engine/core/event.hpp"
#include "text/address.hpp"
#include "text/utf8.hpp"

namespace nurture::engine {

std::vector<sdk::Feedback> fit_to_store(std::vector<sdk::Feedback> reports) {
  for (auto& f : reports) {
    for (std::string* field : {&f.type, &f.action_id, &f.lead, &f.workflow, &f.step, &f.reason, &f.event_id}) {
      *field = text::to_valid_utf8(text::truncate_utf8(*field, 2000));
    }
    if (!f.address.empty()) {
      auto address = text::parse_address(f.address);
      f.address = address ? *address : std::string();
    }
  }
  return reports;
}

FeedbackOutcome record_feedback(Store& store, std::vector<sdk::Feedback> reports) {
  reports = fit_to_store(std::move(reports));
  FeedbackOutcome outcome;
  std::vector<StreamFields> events;
  for (const sdk::Feedback& report : reports) {
    if (report.type != "email.bounced" && report.type != "email.complained") continue;  // nothing else is feedback
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
