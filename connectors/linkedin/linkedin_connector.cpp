#include "connectors/linkedin/linkedin_connector.hpp"

#include "connectors/http/api_connector.hpp"

namespace nurture::connectors {

namespace {

class LinkedinConnector final : public sdk::Connector {
 public:
  LinkedinConnector(std::string base_url, std::string token, std::string author, std::string version,
                    std::chrono::milliseconds timeout)
      : base_url_(std::move(base_url)), token_(std::move(token)), author_(std::move(author)),
        version_(std::move(version)), timeout_(timeout) {}

  void send(const sdk::Action& action, sdk::Completion done) override {
    const nlohmann::json body = {
        {"author", author_},
        {"commentary", action.post.text},
        {"visibility", action.post.visibility == "connections" ? "CONNECTIONS" : "PUBLIC"},
        {"distribution",
         {{"feedDistribution", "MAIN_FEED"}, {"targetEntities", nlohmann::json::array()},
          {"thirdPartyDistributionChannels", nlohmann::json::array()}}},
        {"lifecycleState", "PUBLISHED"},
        {"isReshareDisabledByAuthor", false},
    };
    http::Request request;
    request.url = base_url_ + "/rest/posts";
    request.timeout = timeout_;
    request.headers = {{"Authorization", "Bearer " + token_},
                       {"LinkedIn-Version", version_},
                       {"X-Restli-Protocol-Version", "2.0.0"}};
    http::send_json(std::move(request), body, "linkedin",
                    [](const http::Response& response, const nlohmann::json&) { return response.header("x-restli-id"); },
                    std::move(done));
  }

 private:
  std::string base_url_, token_, author_, version_;
  std::chrono::milliseconds timeout_;
};

}  // namespace

sdk::ConnectorFactory linkedin_connector_factory() {
  sdk::ConnectorFactory factory;
  factory.type = "linkedin";
  factory.doc = "Publishes posts through LinkedIn's Posts API.";
  factory.max_post_length = 3000;  // LinkedIn's limit for a post's commentary
  factory.keys = {
      {"token_env", sdk::ConfigKey::Type::secret_env, true, "", "environment variable holding the OAuth 2 access token"},
      {"author", sdk::ConfigKey::Type::string, true, "", "author URN, e.g. urn:li:organization:5515715"},
      {"version", sdk::ConfigKey::Type::string, false, "202405", "LinkedIn-Version (YYYYMM)"},
      {"base_url", sdk::ConfigKey::Type::url, false, "https://api.linkedin.com", "API base URL"},
      http::timeout_key(),
  };
  factory.create = [](const sdk::ConnectorConfig& config) -> sdk::Created {
    auto token = http::required_secret(config, "token_env");
    if (!token) return tl::unexpected(token.error());
    if (config.get("author").rfind("urn:li:", 0) != 0) {
      return fail("author must be a LinkedIn URN (urn:li:organization:N or urn:li:person:ID)");
    }
    return std::make_unique<LinkedinConnector>(config.get("base_url"), std::move(*token), config.get("author"),
                                               config.get("version"), http::timeout_of(config));
  };
  return factory;
}

}  // namespace nurture::connectors
