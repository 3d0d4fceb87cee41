// Provider webhook bodies (SendGrid, Mailgun, Postmark), past their authentication: the harness signs what the
// fuzzer writes, as the provider would, so the fuzzer reaches the body readers.
#include <chrono>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/obj_mac.h>
#include <openssl/x509.h>

#include "connectors/mailgun/mailgun_feedback.hpp"
#include "connectors/postmark/postmark_feedback.hpp"
#include "connectors/sendgrid/sendgrid_feedback.hpp"
#include "engine/runtime/feedback_recorder.hpp"
#include "tests/fuzz/fuzz_support.hpp"
#include "text/utf8.hpp"

using namespace nurture;

namespace {

std::string base64(const unsigned char* data, std::size_t size) {
  std::string out(4 * ((size + 2) / 3) + 1, '\0');
  out.resize(static_cast<std::size_t>(EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data,
                                                      static_cast<int>(size))));
  return out;
}

struct SendgridKey {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  std::string public_der_base64;
  SendgridKey() {
    unsigned char* der = nullptr;
    const int length = i2d_PUBKEY(key, &der);
    public_der_base64 = base64(der, static_cast<std::size_t>(length));
    OPENSSL_free(der);
  }
  std::string sign(const std::string& data) const {
    EVP_MD_CTX* context = EVP_MD_CTX_new();
    std::size_t length = 0;
    EVP_DigestSignInit(context, nullptr, EVP_sha256(), nullptr, key);
    EVP_DigestSign(context, nullptr, &length, reinterpret_cast<const unsigned char*>(data.data()), data.size());
    std::string signature(length, '\0');
    EVP_DigestSign(context, reinterpret_cast<unsigned char*>(signature.data()), &length,
                   reinterpret_cast<const unsigned char*>(data.data()), data.size());
    EVP_MD_CTX_free(context);
    return base64(reinterpret_cast<const unsigned char*>(signature.data()), length);
  }
};

// What the engine stores of whatever a reader returns is UTF-8.
void check(const connectors::feedback::FeedbackResult& result) {
  if (!result) return;
  for (const auto& report : engine::fit_to_store(*result)) {
    fuzz::require(text::is_valid_utf8(report.reason) && text::is_valid_utf8(report.lead), "report fields are UTF-8");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string body(fuzz::as_text(data + 1, size - 1));
  const auto now = std::chrono::system_clock::now();
  const std::string timestamp =
      std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count());
  switch (data[0] % 3) {
    case 0: {
      static const SendgridKey key;
      const connectors::feedback::Headers headers = {{"x-twilio-email-event-webhook-signature", key.sign(timestamp + body)},
                                       {"x-twilio-email-event-webhook-timestamp", timestamp}};
      check(connectors::parse_sendgrid_webhook(body, headers, key.public_der_base64, now));
      break;
    }
    case 1: {
      // Mailgun signs timestamp + token only; the event data is the fuzzer's.
      unsigned char digest[EVP_MAX_MD_SIZE];
      unsigned int length = 0;
      const std::string signed_part = timestamp + "token";
      HMAC(EVP_sha256(), "key", 3, reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size(),
           digest, &length);
      std::string hex;
      for (unsigned int i = 0; i < length; ++i) hex += "0123456789abcdef"[digest[i] >> 4], hex += "0123456789abcdef"[digest[i] & 15];
      check(connectors::parse_mailgun_webhook(R"({"signature":{"timestamp":")" + timestamp +
                                              R"(","token":"token","signature":")" + hex + R"("},"event-data":)" +
                                              body + "}",
                                          "key", now));
      break;
    }
    default:
      check(connectors::parse_postmark_webhook(body, {{"authorization", "Basic aG9vazpzM2NyZXQ="}}, "hook", "s3cret", now));
  }
  return 0;
}
