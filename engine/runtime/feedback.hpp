#pragma once
// Bounces and complaints (docs/events.md: email.bounced, email.complained): what providers' webhooks and mail
// servers' reports say, turned into events. Pure parsing and signature checks; the daemon and `nurture dsn` store
// the results. Only hard bounces (permanent: SMTP 5.x.x, provider "hard"/"permanent") count: a full mailbox
// today may take mail tomorrow.

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <tl/expected.hpp>

namespace nurture::engine {

struct Feedback {
  std::string type;       // email.bounced | email.complained
  std::string address;    // the recipient the report is about
  std::string action_id;  // of the message that bounced, when the report carries it
  std::string lead;       // when the provider echoes it (custom args, metadata); else looked up by action id
  std::string workflow, step;
  std::string reason;
  std::string event_id;   // the provider's id of this report: the event's idempotency key (webhooks are retried)
  std::chrono::system_clock::time_point at{};
};

using Headers = std::map<std::string, std::string>;  // names in lower case

// Why a report was not read: it could not be authenticated (the sender is refused: HTTP 401), or it is not what
// the provider sends (400).
struct FeedbackError {
  enum class Kind { unauthorized, malformed };
  Kind kind = Kind::malformed;
  std::string message;
};
using FeedbackResult = tl::expected<std::vector<Feedback>, FeedbackError>;

// SendGrid Event Webhook: a JSON array; `bounce` (type bounce) and `spamreport` count. Signed Event Webhook:
// ECDSA P-256 over timestamp+body, public key as SendGrid shows it (base64 DER); empty key: unsigned (refused).
FeedbackResult parse_sendgrid_webhook(const std::string& body, const Headers& headers,
                                                                        const std::string& public_key_base64,
                                                                        std::chrono::system_clock::time_point now);

// Mailgun webhooks: {"signature":{timestamp,token,signature}, "event-data":{...}}; `failed` with severity
// permanent and `complained` count. Signature: hex HMAC-SHA256(signing key, timestamp+token).
FeedbackResult parse_mailgun_webhook(const std::string& body,
                                                                       const std::string& signing_key,
                                                                       std::chrono::system_clock::time_point now);

// Postmark webhooks (unsigned; protected by HTTP Basic auth in the webhook URL): RecordType Bounce with a hard
// Type, and SpamComplaint, count.
FeedbackResult parse_postmark_webhook(const std::string& body, const Headers& headers,
                                                                        const std::string& user,
                                                                        const std::string& password);

// A delivery status notification (RFC 3464, multipart/report; report-type=delivery-status) or an abuse report
// (RFC 5965 ARF, report-type=feedback-report). The action id comes from the original Message-ID
// (<action_id@domain>, as nurture writes it).
FeedbackResult parse_report_message(const std::string& message);

}  // namespace nurture::engine
