#include "connectors/mailgun/mailgun_feedback.hpp"

#include <cstdlib>

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "text/encoding.hpp"

namespace nurture::connectors {

using namespace feedback;

FeedbackResult parse_mailgun_webhook(const std::string& body, const std::string& signing_key, Clock::time_point now) {
  if (signing_key.empty()) return refuse("no signing key configured (webhook_signing_key_env)");
  const json payload = bounded_json(body);
  if (!payload.is_object() || !payload.contains("signature") || !payload.contains("event-data")) {
    return malformed("expected {\"signature\":…, \"event-data\":…}");
  }
  const json& signature = payload["signature"];
  const std::string timestamp = text_of(signature, "timestamp");
  const std::string token = text_of(signature, "token");
  const std::string data = timestamp + token;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), signing_key.data(), static_cast<int>(signing_key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest, &length);
  if (!equal_in_constant_time(text::hex_encode(text::bytes_of(digest, length)), lower(text_of(signature, "signature")))) {
    return refuse("bad signature");
  }
  if (!fresh(std::atof(timestamp.c_str()), now)) return refuse("stale timestamp (replayed?)");
  const json& e = payload["event-data"];
  const std::string event = text_of(e, "event");
  sdk::Feedback f;
  if (event == "failed" && text_of(e, "severity") == "permanent") {
    f.type = "email.bounced";
    const json status = object_of(e, "delivery-status");
    f.reason = fmt::format("{} {}", text_of(status, "code"), text_of(status, "message"));
  } else if (event == "complained") {
    f.type = "email.complained";
    f.reason = "complaint";
  } else {
    return std::vector<sdk::Feedback>{};
  }
  const json variables = object_of(e, "user-variables");
  f.address = lower(text_of(e, "recipient"));
  take_echoed_ids(f, variables);
  f.event_id = "mailgun:" + text_of(e, "id");
  f.at = time_of(e, now);
  return std::vector<sdk::Feedback>{f};
}

}  // namespace nurture::connectors
