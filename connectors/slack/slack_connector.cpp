#include "connectors/slack/slack_connector.hpp"

#include "connectors/http/api_connector.hpp"
#include "connectors/http/chat_text.hpp"

namespace nurture::connectors {

namespace {

class ChatConnector final : public sdk::Connector {
 public:
  ChatConnector(std::string url, std::chrono::milliseconds timeout) : url_(std::move(url)), timeout_(timeout) {}

  void send(const sdk::Action& action, sdk::Completion done) override {
    http::Request request;
    request.url = url_;
    request.timeout = timeout_;
    http::send_json(std::move(request), {{"text", http::chat_text(action)}}, "slack", {}, std::move(done));
  }

 private:
  std::string url_;
  std::chrono::milliseconds timeout_;
};

}  // namespace

sdk::ConnectorFactory slack_connector_factory() {
  sdk::ConnectorFactory factory;
  factory.type = "slack";
  factory.doc = "Posts to a Slack incoming webhook.";
  factory.keys = {
      {"url_env", sdk::ConfigKey::Type::secret_env, true, "", "environment variable holding the webhook URL (it is the secret)"},
      http::timeout_key(),
  };
  factory.create = [](const sdk::ConnectorConfig& config, std::string& error) -> std::unique_ptr<sdk::Connector> {
    std::string url = http::secret_from_env(config, "url_env", error);
    if (url.empty()) return nullptr;
    return std::make_unique<ChatConnector>(std::move(url), http::timeout_of(config));
  };
  return factory;
}

}  // namespace nurture::connectors
