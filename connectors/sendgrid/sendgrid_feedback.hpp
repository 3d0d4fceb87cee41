#pragma once
// SendGrid's Event Webhook: a JSON array; `bounce` (type bounce) and `spamreport` count. Signed Event Webhook:
// ECDSA P-256 over timestamp+body, public key as SendGrid shows it (base64 DER); empty key: unsigned (refused).

#include <string>

#include "connectors/feedback/feedback_support.hpp"

namespace nurture::connectors {

feedback::FeedbackResult parse_sendgrid_webhook(const std::string& body, const feedback::Headers& headers,
                                                const std::string& public_key_base64,
                                                feedback::Clock::time_point now);

}  // namespace nurture::connectors
