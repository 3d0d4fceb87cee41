#include "connectors/postmark/postmark_connector.hpp"
#include "connectors/postmark/postmark_feedback.hpp"

#include <nlohmann/json.hpp>

#include "connectors/http/api_connector.hpp"

namespace nurture::connectors {

namespace {

constexpr int inactive_recipient = 406;

class PostmarkConnector final : public sdk::Connector {
 public:
  PostmarkConnector(std::string base_url, std::string token, std::string stream, std::chrono::milliseconds timeout)
      : base_url_(std::move(base_url)), token_(std::move(token)), stream_(std::move(stream)), timeout_(timeout) {}

  bool needs_mime() const override { return false; }  // the API takes the parts

  void send(const sdk::Action& action, sdk::Completion done) override {
    nlohmann::json body = {
        {"From", action.email.from},
        {"To", action.email.to},
        {"Subject", action.email.subject},
        {"HtmlBody", action.email.html},
        {"MessageStream", stream_},
        {"TrackOpens", false},  // our own click and open tracking is in the html already
        {"TrackLinks", "None"},
        {"Metadata",
         {{"action_id", action.action_id}, {"lead", action.lead_id}, {"workflow", action.workflow}, {"step", action.step}}},
    };
    if (!action.email.text.empty()) body["TextBody"] = action.email.text;
    if (!action.email.reply_to.empty()) body["ReplyTo"] = action.email.reply_to;
    nlohmann::json headers = nlohmann::json::array();
    for (const auto& [name, value] : action.email.headers) headers.push_back({{"Name", name}, {"Value", value}});
    if (!headers.empty()) body["Headers"] = headers;

    http::Request request;
    request.url = base_url_ + "/email";
    request.timeout = timeout_;
    request.headers = {{"X-Postmark-Server-Token", token_},
                       {"Accept", "application/json"},
                       {"Content-Type", "application/json"}};
    request.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    http::Client::shared().perform(std::move(request), [done = std::move(done)](http::Response response) {
      auto answer = nlohmann::json::parse(response.body, nullptr, false);
      const int error_code = answer.is_object() ? answer.value("ErrorCode", 0) : 0;
      if (response.status == 422 && error_code == inactive_recipient) {
        done(sdk::Result::suppressed("postmark 406: " + answer.value("Message", std::string("inactive recipient"))));
        return;
      }
      done(http::classify(response, answer.is_object() ? answer.value("MessageID", "") : "", "postmark"));
    });
  }

 private:
  std::string base_url_, token_, stream_;
  std::chrono::milliseconds timeout_;
};

}  // namespace

sdk::ConnectorFactory postmark_connector_factory() {
  sdk::ConnectorFactory factory;
  factory.type = "postmark";
  factory.doc = "Sends email through Postmark's email API.";
  factory.keys = {
      {"webhook_user_env", sdk::ConfigKey::Type::secret_env, false, "", "environment variable holding the webhook Basic auth user (POST /webhooks/NAME: bounces, complaints)"},
      {"webhook_password_env", sdk::ConfigKey::Type::secret_env, false, "", "environment variable holding the webhook Basic auth password (POST /webhooks/NAME: bounces, complaints)"},
      {"server_token_env", sdk::ConfigKey::Type::secret_env, true, "", "environment variable holding the server token"},
      {"message_stream", sdk::ConfigKey::Type::string, false, "broadcast", "Postmark message stream (broadcast for marketing)"},
      {"base_url", sdk::ConfigKey::Type::url, false, "https://api.postmarkapp.com", "API base URL"},
      http::timeout_key(),
  };
  factory.create = [](const sdk::ConnectorConfig& config) -> sdk::Created {
    auto token = http::required_secret(config, "server_token_env");
    if (!token) return tl::unexpected(token.error());
    return std::make_unique<PostmarkConnector>(config.get("base_url"), std::move(*token), config.get("message_stream"),
                                               http::timeout_of(config));
  };
  factory.feedback = [](const sdk::ConnectorConfig& config) -> std::unique_ptr<sdk::FeedbackReader> {
    const std::string user = http::secret_from_env(config, "webhook_user_env");
    const std::string password = http::secret_from_env(config, "webhook_password_env");
    if (user.empty()) return nullptr;
    return feedback::reader([user, password](const sdk::WebhookRequest& request) {
      return parse_postmark_webhook(request.body, request.headers, user, password, request.now);
    });
  };
  return factory;
}

}  // namespace nurture::connectors
