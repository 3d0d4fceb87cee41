#include "connectors/x/x_connector.hpp"

#include "connectors/http/api_connector.hpp"

namespace nurture::connectors {

namespace {

class XConnector final : public sdk::Connector {
 public:
  XConnector(std::string base_url, std::string token, std::chrono::milliseconds timeout)
      : base_url_(std::move(base_url)), token_(std::move(token)), timeout_(timeout) {}

  void send(const sdk::Action& action, sdk::Completion done) override {
    http::Request request;
    request.timeout = timeout_;
    request.headers = {{"Authorization", "Bearer " + token_}};
    http::IdOf id_of;
    if (action.post.visibility == "direct") {
      const std::string user = http::text_attr(http::attrs_of(action), "x_user_id");
      if (user.empty()) {
        done(sdk::Result::failed("x: a direct message needs the lead's `x_user_id` attribute"));
        return;
      }
      request.url = base_url_ + "/2/dm_conversations/with/" + user + "/messages";
      id_of = [](const http::Response&, const nlohmann::json& body) {
        return body.contains("data") ? body["data"].value("dm_event_id", std::string()) : std::string();
      };
    } else {
      request.url = base_url_ + "/2/tweets";
      id_of = [](const http::Response&, const nlohmann::json& body) {
        return body.contains("data") ? body["data"].value("id", std::string()) : std::string();
      };
    }
    http::send_json(std::move(request), {{"text", action.post.text}}, "x", std::move(id_of), std::move(done));
  }

 private:
  std::string base_url_, token_;
  std::chrono::milliseconds timeout_;
};

}  // namespace

sdk::ConnectorFactory x_connector_factory() {
  sdk::ConnectorFactory factory;
  factory.type = "x";
  factory.doc = "Posts to X (v2 posts; direct messages to the lead's x_user_id).";
  factory.max_post_length = 280;  // X's limit for a standard account
  factory.keys = {
      {"token_env", sdk::ConfigKey::Type::secret_env, true, "", "environment variable holding the OAuth 2 bearer token"},
      {"base_url", sdk::ConfigKey::Type::url, false, "https://api.x.com", "API base URL"},
      http::timeout_key(),
  };
  factory.create = [](const sdk::ConnectorConfig& config) -> sdk::Created {
    auto token = http::required_secret(config, "token_env");
    if (!token) return tl::unexpected(token.error());
    return std::make_unique<XConnector>(config.get("base_url"), std::move(*token), http::timeout_of(config));
  };
  return factory;
}

}  // namespace nurture::connectors
