#pragma once
// Bounce and complaint reports into the store: the address is suppressed at once (no further send to it from any
// workflow) and the lead gets an email.bounced / email.complained event, keyed by the provider's report id so a
// retried webhook is one event.

#include <vector>

#include "engine/runtime/feedback.hpp"
#include "engine/store/store.hpp"

namespace nurture::engine {

struct FeedbackOutcome {
  int events = 0;      // events added for leads
  int suppressed = 0;  // addresses suppressed
  int unmatched = 0;   // reports whose lead is unknown (suppressed all the same)
};

FeedbackOutcome record_feedback(Store& store, const std::vector<Feedback>& reports);

}  // namespace nurture::engine
