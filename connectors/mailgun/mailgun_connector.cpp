#include "connectors/mailgun/mailgun_connector.hpp"
#include "connectors/mailgun/mailgun_feedback.hpp"

#include <nlohmann/json.hpp>

#include "connectors/http/api_connector.hpp"

namespace nurture::connectors {

namespace {

class MailgunConnector final : public sdk::Connector {
 public:
  MailgunConnector(std::string base_url, std::string domain, std::string key, std::chrono::milliseconds timeout)
      : base_url_(std::move(base_url)), domain_(std::move(domain)), key_(std::move(key)), timeout_(timeout) {}

  bool needs_mime() const override { return false; }  // the API takes the parts

  void send(const sdk::Action& action, sdk::Completion done) override {
    std::vector<std::pair<std::string, std::string>> fields = {
        {"from", action.email.from},
        {"to", action.email.to},
        {"subject", action.email.subject},
        {"html", action.email.html},
        {"o:tracking", "no"},  // our own click and open tracking is in the html already
        {"v:action_id", action.action_id},
        {"v:lead", action.lead_id},
        {"v:workflow", action.workflow},
        {"v:step", action.step},
    };
    if (!action.email.text.empty()) fields.emplace_back("text", action.email.text);
    if (!action.email.reply_to.empty()) fields.emplace_back("h:Reply-To", action.email.reply_to);
    for (const auto& [name, value] : action.email.headers) fields.emplace_back("h:" + name, value);

    http::Request request;
    request.url = base_url_ + "/v3/" + domain_ + "/messages";
    request.timeout = timeout_;
    request.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
    request.basic_user = "api";
    request.basic_password = key_;
    request.body = http::form_encode(fields);
    http::Client::shared().perform(std::move(request), [done = std::move(done)](http::Response response) {
      auto answer = nlohmann::json::parse(response.body, nullptr, false);
      const std::string id = answer.is_object() ? answer.value("id", "") : "";
      done(http::classify(response, id, "mailgun"));
    });
  }

 private:
  std::string base_url_, domain_, key_;
  std::chrono::milliseconds timeout_;
};

}  // namespace

sdk::ConnectorFactory mailgun_connector_factory() {
  sdk::ConnectorFactory factory;
  factory.type = "mailgun";
  factory.doc = "Sends email through Mailgun's Messages API.";
  factory.keys = {
      {"webhook_signing_key_env", sdk::ConfigKey::Type::secret_env, false, "", "environment variable holding the HTTP webhook signing key (POST /webhooks/NAME: bounces, complaints)"},
      {"api_key_env", sdk::ConfigKey::Type::secret_env, true, "", "environment variable holding the API key"},
      {"domain", sdk::ConfigKey::Type::string, true, "", "the sending domain registered with Mailgun"},
      {"base_url", sdk::ConfigKey::Type::url, false, "https://api.mailgun.net",
       "API base URL (https://api.eu.mailgun.net for the EU region)"},
      http::timeout_key(),
  };
  factory.create = [](const sdk::ConnectorConfig& config) -> sdk::Created {
    auto key = http::required_secret(config, "api_key_env");
    if (!key) return tl::unexpected(key.error());
    return std::make_unique<MailgunConnector>(config.get("base_url"), config.get("domain"), std::move(*key),
                                              http::timeout_of(config));
  };
  factory.feedback = [](const sdk::ConnectorConfig& config) -> std::unique_ptr<sdk::FeedbackReader> {
    const std::string key = http::secret_from_env(config, "webhook_signing_key_env");
    if (key.empty()) return nullptr;
    return feedback::reader([key](const sdk::WebhookRequest& request) {
      return parse_mailgun_webhook(request.body, key, request.now);
    });
  };
  return factory;
}

}  // namespace nurture::connectors
