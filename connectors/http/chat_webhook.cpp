#include "connectors/http/chat_webhook.hpp"

#include <fmt/format.h>

#include "connectors/http/api_connector.hpp"

namespace nurture::connectors::http {

std::string chat_text(const sdk::Action& action) {
  if (!action.post.text.empty()) return action.post.text;
  const auto body = nlohmann::json::parse(action.json_body.empty() ? "{}" : action.json_body, nullptr, false);
  const nlohmann::json lead = body.is_object() ? body.value("lead", nlohmann::json::object()) : nlohmann::json::object();
  const nlohmann::json attrs = lead.value("attrs", nlohmann::json::object());
  auto attr = [&](const char* name) {
    return attrs.contains(name) && attrs[name].is_string() ? attrs[name].get<std::string>() : std::string();
  };
  std::string who = (attr("first_name") + " " + attr("last_name"));
  if (who == " ") who = lead.value("id", action.lead_id);
  const std::string kind = body.is_object() ? body.value("kind", std::string("webhook")) : "webhook";
  return fmt::format("{}: {} <{}>, score {}, stage {} ({} / {}){}", kind == "handoff" ? "New MQL" : "Lead update",
                     who, attr("email"), lead.value("score", nlohmann::json(0)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                     lead.contains("stage") && lead["stage"].is_string() ? lead["stage"].get<std::string>() : "-",
                     action.workflow, action.step,
                     body.is_object() && body.contains("note") ? " — " + body.value("note", std::string()) : "");
}

namespace {

class ChatConnector final : public sdk::Connector {
 public:
  ChatConnector(std::string type, std::string field, std::string url, std::chrono::milliseconds timeout)
      : type_(std::move(type)), field_(std::move(field)), url_(std::move(url)), timeout_(timeout) {}

  void send(const sdk::Action& action, sdk::Completion done) override {
    Request request;
    request.url = url_;
    request.timeout = timeout_;
    send_json(std::move(request), {{field_, chat_text(action)}}, type_, {}, std::move(done));
  }

 private:
  std::string type_, field_, url_;
  std::chrono::milliseconds timeout_;
};

}  // namespace

sdk::ConnectorFactory chat_webhook_factory(std::string type, std::string field, std::string doc) {
  sdk::ConnectorFactory factory;
  factory.type = type;
  factory.doc = std::move(doc);
  factory.keys = {
      {"url_env", sdk::ConfigKey::Type::secret_env, true, "", "environment variable holding the webhook URL (it is the secret)"},
      timeout_key(),
  };
  factory.create = [type, field](const sdk::ConnectorConfig& config) -> sdk::Created {
    auto url = required_secret(config, "url_env");
    if (!url) return tl::unexpected(url.error());
    return std::make_unique<ChatConnector>(type, field, std::move(*url), timeout_of(config));
  };
  return factory;
}

}  // namespace nurture::connectors::http
