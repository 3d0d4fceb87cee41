#include "engine/store/store.hpp"

namespace nurture::engine {

std::string raised_event_type(const PlannedAction& action, DispatchOutcome outcome) {
  if (outcome == DispatchOutcome::failed) return "action.failed";
  if (outcome != DispatchOutcome::sent) return {};
  return action.kind == "email" ? "email.sent" : action.kind == "post" ? "post.sent" : "webhook.sent";
}

}  // namespace nurture::engine
