#include "connectors/meta_audience/meta_audience_connector.hpp"
#include "text/encoding.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>
#include <openssl/evp.h>

#include "connectors/http/api_connector.hpp"

namespace nurture::connectors {

std::string meta_email_hash(const std::string& email) {
  const auto begin = email.find_first_not_of(" \t\r\n");
  const auto end = email.find_last_not_of(" \t\r\n");
  std::string normal = begin == std::string::npos ? "" : email.substr(begin, end - begin + 1);
  std::transform(normal.begin(), normal.end(), normal.begin(), [](unsigned char c) { return std::tolower(c); });
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(normal.data(), normal.size(), digest, &length, EVP_sha256(), nullptr);
  return text::hex_encode(text::bytes_of(digest, length));
}

namespace {

class MetaAudienceConnector final : public sdk::Connector {
 public:
  MetaAudienceConnector(std::string url, std::string token, bool remove, std::chrono::milliseconds timeout)
      : url_(std::move(url)), token_(std::move(token)), remove_(remove), timeout_(timeout) {}

  void send(const sdk::Action& action, sdk::Completion done) override {
    const std::string email = http::text_attr(http::attrs_of(action), "email");
    if (email.empty()) {
      done(sdk::Result::failed("meta_audience: the lead has no email attribute to match on"));
      return;
    }
    // A 15-hex-digit (60-bit) session id from the action id: positive, stable across retries.
    const long long session = std::stoll(action.action_id.substr(0, 15), nullptr, 16);
    const nlohmann::json body = {
        {"session", {{"session_id", session}, {"batch_seq", 1}, {"last_batch_flag", true}}},
        {"payload", {{"schema", "EMAIL_SHA256"}, {"data", {meta_email_hash(email)}}}},
    };
    http::Request request;
    request.method = remove_ ? "DELETE" : "POST";
    request.url = url_;
    request.timeout = timeout_;
    request.headers = {{"Authorization", "Bearer " + token_}};
    http::send_json(std::move(request), body, "meta_audience", http::json_field("session_id"), std::move(done));
  }

 private:
  std::string url_, token_;
  bool remove_;
  std::chrono::milliseconds timeout_;
};

}  // namespace

sdk::ConnectorFactory meta_audience_connector_factory() {
  sdk::ConnectorFactory factory;
  factory.type = "meta_audience";
  factory.doc = "Adds or removes the lead (hashed email) in a Meta Custom Audience.";
  factory.keys = {
      {"audience_id", sdk::ConfigKey::Type::string, true, "", "the Custom Audience id"},
      {"token_env", sdk::ConfigKey::Type::secret_env, true, "", "environment variable holding the access token"},
      {"operation", sdk::ConfigKey::Type::string, false, "add", "add or remove"},
      {"api_version", sdk::ConfigKey::Type::string, false, "v19.0", "Graph API version"},
      {"base_url", sdk::ConfigKey::Type::url, false, "https://graph.facebook.com", "API base URL"},
      http::timeout_key(),
  };
  factory.create = [](const sdk::ConnectorConfig& config) -> sdk::Created {
    auto token = http::required_secret(config, "token_env");
    if (!token) return tl::unexpected(token.error());
    const std::string operation = config.get("operation");
    if (operation != "add" && operation != "remove") {
      return fail(fmt::format("operation \"{}\" must be add or remove", operation));
    }
    const std::string url =
        fmt::format("{}/{}/{}/users", config.get("base_url"), config.get("api_version"), config.get("audience_id"));
    return std::make_unique<MetaAudienceConnector>(url, std::move(*token), operation == "remove", http::timeout_of(config));
  };
  return factory;
}

}  // namespace nurture::connectors
