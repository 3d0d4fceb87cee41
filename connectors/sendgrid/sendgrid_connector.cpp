#include "connectors/sendgrid/sendgrid_connector.hpp"
#include "connectors/sendgrid/sendgrid_feedback.hpp"
#include "text/address.hpp"

#include <nlohmann/json.hpp>

#include "connectors/http/api_connector.hpp"

namespace nurture::connectors {

namespace {

// SendGrid sets these itself and refuses them in `headers`.
bool reserved_by_sendgrid(const std::string& name) { return name == "Message-ID"; }

class SendgridConnector final : public sdk::Connector {
 public:
  SendgridConnector(std::string base_url, std::string key, std::chrono::milliseconds timeout)
      : base_url_(std::move(base_url)), key_(std::move(key)), timeout_(timeout) {}

  bool needs_mime() const override { return false; }  // the API takes the parts

  void send(const sdk::Action& action, sdk::Completion done) override {
    // The engine checked these mailboxes when it planned the send; one that no longer parses is refused here too.
    const auto from = text::parse_mailbox(action.email.from);
    const auto reply_to = text::parse_mailbox(action.email.reply_to);
    if (!from) return done(sdk::Result::failed("sendgrid: the From mailbox does not parse: " + action.email.from));
    nlohmann::json body;
    body["personalizations"] = {{{"to", {{{"email", action.email.to}}}}}};
    body["from"] = {{"email", from->address}};
    if (!from->display_name.empty()) body["from"]["name"] = from->display_name;
    if (reply_to) body["reply_to"] = {{"email", reply_to->address}};
    body["subject"] = action.email.subject;
    body["content"] = nlohmann::json::array();
    if (!action.email.text.empty()) body["content"].push_back({{"type", "text/plain"}, {"value", action.email.text}});
    body["content"].push_back({{"type", "text/html"}, {"value", action.email.html}});
    nlohmann::json headers = nlohmann::json::object();
    for (const auto& [name, value] : action.email.headers) {
      if (!reserved_by_sendgrid(name)) headers[name] = value;
    }
    if (!headers.empty()) body["headers"] = headers;
    body["custom_args"] = {{"action_id", action.action_id}, {"lead", action.lead_id},
                           {"workflow", action.workflow}, {"step", action.step}};
    // Our own click and open tracking is in the html already.
    body["tracking_settings"] = {{"click_tracking", {{"enable", false}}}, {"open_tracking", {{"enable", false}}}};

    http::Request request;
    request.url = base_url_ + "/v3/mail/send";
    request.timeout = timeout_;
    request.headers = {{"Authorization", "Bearer " + key_}, {"Content-Type", "application/json"}};
    request.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    http::Client::shared().perform(std::move(request), [done = std::move(done)](http::Response response) {
      // SendGrid answers 429 with X-RateLimit-Reset (epoch seconds) rather than Retry-After.
      if (response.status == 429 && response.header("retry-after").empty() &&
          !response.header("x-ratelimit-reset").empty()) {
        const long long reset = std::atoll(response.header("x-ratelimit-reset").c_str());
        const long long now = std::chrono::duration_cast<std::chrono::seconds>(
                                  std::chrono::system_clock::now().time_since_epoch()).count();
        response.headers["retry-after"] = std::to_string(std::max(1LL, reset - now));
      }
      done(http::classify(response, response.header("x-message-id"), "sendgrid"));
    });
  }

 private:
  std::string base_url_;
  std::string key_;
  std::chrono::milliseconds timeout_;
};

}  // namespace

sdk::ConnectorFactory sendgrid_connector_factory() {
  sdk::ConnectorFactory factory;
  factory.type = "sendgrid";
  factory.doc = "Sends email through SendGrid's v3 Mail Send API.";
  factory.keys = {
      {"webhook_public_key_env", sdk::ConfigKey::Type::secret_env, false, "", "environment variable holding the Signed Event Webhook verification key (base64) (POST /webhooks/NAME: bounces, complaints)"},
      {"api_key_env", sdk::ConfigKey::Type::secret_env, true, "", "environment variable holding the API key"},
      {"base_url", sdk::ConfigKey::Type::url, false, "https://api.sendgrid.com", "API base URL"},
      http::timeout_key(),
  };
  factory.create = [](const sdk::ConnectorConfig& config) -> sdk::Created {
    auto key = http::required_secret(config, "api_key_env");
    if (!key) return tl::unexpected(key.error());
    return std::make_unique<SendgridConnector>(config.get("base_url"), std::move(*key), http::timeout_of(config));
  };
  factory.feedback = [](const sdk::ConnectorConfig& config) -> std::unique_ptr<sdk::FeedbackReader> {
    const std::string key = http::secret_from_env(config, "webhook_public_key_env");
    if (key.empty()) return nullptr;
    return feedback::reader([key](const sdk::WebhookRequest& request) {
      return parse_sendgrid_webhook(request.body, request.headers, key, request.now);
    });
  };
  return factory;
}

}  // namespace nurture::connectors
