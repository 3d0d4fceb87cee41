#include "connectors/mastodon/mastodon_connector.hpp"

#include "connectors/http/api_connector.hpp"

namespace nurture::connectors {

namespace {

class MastodonConnector final : public sdk::Connector {
 public:
  MastodonConnector(std::string base_url, std::string token, std::string visibility, std::chrono::milliseconds timeout)
      : base_url_(std::move(base_url)), token_(std::move(token)), visibility_(std::move(visibility)), timeout_(timeout) {}

  void send(const sdk::Action& action, sdk::Completion done) override {
    const std::string visibility = action.post.visibility.empty() ? visibility_ : action.post.visibility;
    std::string text = action.post.text;
    if (visibility == "direct") {
      std::string handle = http::text_attr(http::attrs_of(action), "mastodon");
      if (handle.empty()) {
        done(sdk::Result::failed("mastodon: a direct post needs the lead's `mastodon` handle attribute"));
        return;
      }
      if (handle[0] != '@') handle = "@" + handle;
      if (text.find(handle) == std::string::npos) text = handle + " " + text;
    }
    nlohmann::json body = {{"status", text}, {"visibility", visibility}};
    if (!action.post.scheduled_at.empty()) body["scheduled_at"] = action.post.scheduled_at;
    http::Request request;
    request.url = base_url_ + "/api/v1/statuses";
    request.timeout = timeout_;
    request.headers = {{"Authorization", "Bearer " + token_}, {"Idempotency-Key", action.action_id}};
    http::send_json(std::move(request), body, "mastodon", http::json_field("id"), std::move(done));
  }

 private:
  std::string base_url_, token_, visibility_;
  std::chrono::milliseconds timeout_;
};

}  // namespace

sdk::ConnectorFactory mastodon_connector_factory() {
  sdk::ConnectorFactory factory;
  factory.type = "mastodon";
  factory.doc = "Posts statuses to a Mastodon server (public, or direct to the lead's handle).";
  factory.max_post_length = 500;  // Mastodon's default limit
  factory.keys = {
      {"base_url", sdk::ConfigKey::Type::url, true, "", "the server, e.g. https://mastodon.example"},
      {"token_env", sdk::ConfigKey::Type::secret_env, true, "", "environment variable holding the access token"},
      {"visibility", sdk::ConfigKey::Type::string, false, "public", "default visibility: public, unlisted, private, direct"},
      http::timeout_key(),
  };
  factory.create = [](const sdk::ConnectorConfig& config) -> sdk::Created {
    auto token = http::required_secret(config, "token_env");
    if (!token) return tl::unexpected(token.error());
    return std::make_unique<MastodonConnector>(config.get("base_url"), std::move(*token), config.get("visibility"),
                                               http::timeout_of(config));
  };
  return factory;
}

}  // namespace nurture::connectors
