#pragma once
// Bounce and complaint reports (sdk/feedback.hpp) into the store: the address is suppressed at once (no further
// send to it from any workflow) and the lead gets an email.bounced / email.complained event, keyed by the
// provider's report id so a retried webhook is one event. Reports are outside input, checked here.

#include <vector>

#include "engine/store/store.hpp"
#include "nurture/sdk/feedback.hpp"

namespace nurture::engine {

struct FeedbackOutcome {
  int events = 0;      // events added for leads
  int suppressed = 0;  // addresses suppressed
  int unmatched = 0;   // reports whose lead is unknown (suppressed all the same)
};

// What a report says, made fit to store: valid UTF-8 within 2,000 bytes a field, whatever the provider or MTA wrote
// (a Latin-1 Diagnostic-Code); an address that does not parse is dropped (nothing is suppressed for it; the report
// still reaches its lead).
std::vector<sdk::Feedback> fit_to_store(std::vector<sdk::Feedback> reports);

FeedbackOutcome record_feedback(Store& store, std::vector<sdk::Feedback> reports);

}  // namespace nurture::engine
