#include "connectors/webhook/webhook_connector.hpp"
#include "text/encoding.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "connectors/http/api_connector.hpp"

namespace nurture::connectors {

std::string webhook_signature(const std::string& secret, const std::string& timestamp, const std::string& body) {
  const std::string data = timestamp + "." + body;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), digest, &length);
  return "sha256=" + text::hex_encode(text::bytes_of(digest, length));
}

namespace {

class WebhookConnector final : public sdk::Connector {
 public:
  WebhookConnector(std::string url, std::string secret, std::chrono::milliseconds timeout)
      : url_(std::move(url)), secret_(std::move(secret)), timeout_(timeout) {}

  void send(const sdk::Action& action, sdk::Completion done) override {
    const std::string timestamp = std::to_string(
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
    http::Request request;
    request.url = url_;
    request.timeout = timeout_;
    request.body = action.json_body.empty() ? "{}" : action.json_body;
    request.headers = {{"Content-Type", "application/json"},
                       {"Idempotency-Key", action.action_id},
                       {"X-Nurture-Timestamp", timestamp}};
    if (!secret_.empty()) request.headers.emplace_back("X-Nurture-Signature", webhook_signature(secret_, timestamp, request.body));
    http::Client::shared().perform(std::move(request), [done = std::move(done)](http::Response response) {
      done(http::classify(response, response.header("x-request-id"), "webhook"));
    });
  }

 private:
  std::string url_, secret_;
  std::chrono::milliseconds timeout_;
};

}  // namespace

sdk::ConnectorFactory webhook_connector_factory() {
  sdk::ConnectorFactory factory;
  factory.type = "webhook";
  factory.doc = "POSTs the step's JSON (lead, workflow, step) to a URL, HMAC-signed with a timestamp.";
  factory.keys = {
      {"url", sdk::ConfigKey::Type::url, true, "", "where to POST"},
      {"secret_env", sdk::ConfigKey::Type::secret_env, false, "", "environment variable holding the HMAC secret"},
      http::timeout_key(),
  };
  factory.create = [](const sdk::ConnectorConfig& config) -> sdk::Created {
    std::string secret;
    if (!config.get("secret_env").empty()) {
      auto required = http::required_secret(config, "secret_env");
      if (!required) return tl::unexpected(required.error());
      secret = std::move(*required);
    }
    return std::make_unique<WebhookConnector>(config.get("url"), std::move(secret), http::timeout_of(config));
  };
  return factory;
}

}  // namespace nurture::connectors
