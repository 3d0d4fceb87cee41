#include "connectors/sendgrid/sendgrid_feedback.hpp"

#include <cstdlib>

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "text/encoding.hpp"

namespace nurture::connectors {

using namespace feedback;

namespace {

bool ecdsa_verifies(const std::string& public_key_base64, const std::string& data, const std::string& signature_base64) {
  const auto der = text::base64_decode(public_key_base64);
  const auto signature = text::base64_decode(signature_base64);
  if (!der || !signature || der->empty() || signature->empty()) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(der->data());
  EVP_PKEY* key = d2i_PUBKEY(nullptr, &p, static_cast<long>(der->size()));
  if (!key) return false;
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  const bool ok = EVP_DigestVerifyInit(context, nullptr, EVP_sha256(), nullptr, key) == 1 &&
                  EVP_DigestVerify(context, reinterpret_cast<const unsigned char*>(signature->data()), signature->size(),
                                   reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  EVP_MD_CTX_free(context);
  EVP_PKEY_free(key);
  return ok;
}

}  // namespace

FeedbackResult parse_sendgrid_webhook(const std::string& body, const Headers& headers,
                                      const std::string& public_key_base64, Clock::time_point now) {
  if (public_key_base64.empty()) return refuse("no verification key configured (webhook_public_key_env)");
  const std::string signature = header_of(headers, "x-twilio-email-event-webhook-signature");
  const std::string timestamp = header_of(headers, "x-twilio-email-event-webhook-timestamp");
  if (signature.empty() || timestamp.empty()) return refuse("unsigned request");
  if (!ecdsa_verifies(public_key_base64, timestamp + body, signature)) return refuse("bad signature");
  if (!fresh(std::atof(timestamp.c_str()), now)) return refuse("stale timestamp (replayed?)");
  const json events = bounded_json(body);
  if (!events.is_array()) return malformed("the body is not a JSON array of events");
  std::vector<sdk::Feedback> out;
  for (const json& e : events) {
    const std::string event = text_of(e, "event");
    sdk::Feedback f;
    if (event == "bounce" && (text_of(e, "type").empty() || text_of(e, "type") == "bounce")) {
      f.type = "email.bounced";
      f.reason = fmt::format("{} {}", text_of(e, "status"), text_of(e, "reason"));
    } else if (event == "spamreport") {
      f.type = "email.complained";
      f.reason = "spam report";
    } else {
      continue;  // deliveries, opens, deferrals, soft blocks: not ours to act on
    }
    f.address = lower(text_of(e, "email"));
    take_echoed_ids(f, e);  // custom_args come back at the top level
    f.event_id = "sendgrid:" + text_of(e, "sg_event_id");
    f.at = time_of(e, now);
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace nurture::connectors
