#pragma once
// Mailgun webhooks: {"signature":{timestamp,token,signature}, "event-data":{...}}; `failed` with severity
// permanent and `complained` count. Signature: hex HMAC-SHA256(signing key, timestamp+token).

#include <string>

#include "connectors/feedback/feedback_support.hpp"

namespace nurture::connectors {

feedback::FeedbackResult parse_mailgun_webhook(const std::string& body, const std::string& signing_key,
                                               feedback::Clock::time_point now);

}  // namespace nurture::connectors
