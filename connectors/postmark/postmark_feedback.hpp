#pragma once
// Postmark webhooks (unsigned; protected by HTTP Basic auth in the webhook URL): RecordType Bounce with a hard
// Type, and SpamComplaint, count.

#include <string>

#include "connectors/feedback/feedback_support.hpp"

namespace nurture::connectors {

feedback::FeedbackResult parse_postmark_webhook(const std::string& body, const feedback::Headers& headers,
                                                const std::string& user, const std::string& password,
                                                feedback::Clock::time_point now);

}  // namespace nurture::connectors
