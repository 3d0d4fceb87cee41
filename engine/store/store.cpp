#include "engine/store/store.hpp"

#include <nlohmann/json.hpp>

namespace nurture::engine {

std::string raised_event_type(const PlannedAction& action, DispatchOutcome outcome) {
  if (outcome == DispatchOutcome::failed) return "action.failed";
  if (outcome != DispatchOutcome::sent) return {};
  return action.kind == "email" ? "email.sent" : action.kind == "post" ? "post.sent" : "webhook.sent";
}

std::optional<StreamFields> raised_event(const DispatchRecord& record) {
  const PlannedAction& action = record.entry->action;
  const std::string type = raised_event_type(action, record.outcome);
  if (type.empty() || !record.raise_event) return std::nullopt;
  nlohmann::json props = {{"workflow", action.workflow},
                          {"step", action.step},
                          {"action_id", action.action_id},
                          {"connector", action.connector}};
  props[record.outcome == DispatchOutcome::sent ? "provider_id" : "reason"] = record.detail;
  return StreamFields{{"type", type},
                      {"lead", action.lead},
                      {"at", format_rfc3339(record.at)},
                      {"props", props.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)}};
}

const char* outcome_name(DispatchOutcome outcome) {
  switch (outcome) {
    case DispatchOutcome::sent: return "sent";
    case DispatchOutcome::failed: return "failed";
    case DispatchOutcome::suppressed: return "suppressed";
    case DispatchOutcome::skipped: return "skipped";
  }
  return "?";
}

}  // namespace nurture::engine
