#pragma once
// Feedback: what a provider reports about mail it accepted — hard bounces and complaints — read from its webhook.
// A connector type may offer a reader (ConnectorFactory::feedback). The engine then serves
// POST /webhooks/<connector name>, hands each request to the reader, and for what it reads suppresses the address
// and raises email.bounced / email.complained on the lead. It checks what a reader returns as outside input.

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace nurture::sdk {

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

struct WebhookRequest {
  std::string body;
  std::map<std::string, std::string> headers;  // names in lower case
  std::chrono::system_clock::time_point now;    // for replay windows
};

// What a reader made of one request: the reports in it, or why it was refused (unauthorized: HTTP 401, nothing is
// changed; malformed: 400).
struct FeedbackRead {
  enum class Outcome { read, unauthorized, malformed };
  Outcome outcome = Outcome::read;
  std::vector<Feedback> reports;
  std::string why;
};

class FeedbackReader {
 public:
  virtual ~FeedbackReader() = default;
  // Called from one thread at a time; must not throw on any body.
  virtual FeedbackRead read(const WebhookRequest& request) const = 0;
};

}  // namespace nurture::sdk
