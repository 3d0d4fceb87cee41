#include "engine/http/webhooks.hpp"

#include <cstdlib>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "engine/runtime/feedback.hpp"
#include "engine/runtime/feedback_recorder.hpp"

namespace nurture::engine {

namespace {

std::string env_of(const workflows::ConnectorSettings& settings, const std::string& key) {
  auto it = settings.values.find(key);
  if (it == settings.values.end() || it->second.empty()) return {};
  const char* value = std::getenv(it->second.c_str());
  if (value == nullptr) spdlog::warn("connector {}: {} names {}, which is not set", settings.name, key, it->second);
  return value ? value : "";
}

}  // namespace

WebhookReceiver::WebhookReceiver(const workflows::Config& config, Store& store) : store_(store) {
  for (const auto& settings : config.connectors) {
    Endpoint endpoint{settings.type, {}, {}, {}};
    if (settings.type == "sendgrid") endpoint.key = env_of(settings, "webhook_public_key_env");
    else if (settings.type == "mailgun") endpoint.key = env_of(settings, "webhook_signing_key_env");
    else if (settings.type == "postmark") {
      endpoint.user = env_of(settings, "webhook_user_env");
      endpoint.password = env_of(settings, "webhook_password_env");
    } else {
      continue;
    }
    if (endpoint.key.empty() && endpoint.user.empty()) continue;
    endpoints_.emplace(settings.name, std::move(endpoint));
  }
}

std::optional<http::HttpAnswer> WebhookReceiver::handle(const http::HttpCall& call) {
  const std::string prefix = "/webhooks/";
  if (call.target.rfind(prefix, 0) != 0) return std::nullopt;
  std::string name = call.target.substr(prefix.size());
  name = name.substr(0, name.find('?'));
  auto endpoint = endpoints_.find(name);
  if (endpoint == endpoints_.end()) return http::HttpAnswer{404, "no webhook endpoint for this connector\n"};
  if (call.method != "POST") return http::HttpAnswer{405, "POST only\n"};

  const auto now = std::chrono::system_clock::now();
  FeedbackResult reports = tl::unexpected(FeedbackError{FeedbackError::Kind::malformed, "unknown type"});
  const Endpoint& e = endpoint->second;
  if (e.type == "sendgrid") reports = parse_sendgrid_webhook(call.body, call.headers, e.key, now);
  else if (e.type == "mailgun") reports = parse_mailgun_webhook(call.body, e.key, now);
  else if (e.type == "postmark") reports = parse_postmark_webhook(call.body, call.headers, e.user, e.password);
  if (!reports) {
    spdlog::warn("webhook {} refused: {}", name, reports.error().message);
    const bool unauthorized = reports.error().kind == FeedbackError::Kind::unauthorized;
    return http::HttpAnswer{unauthorized ? 401 : 400, reports.error().message + "\n"};
  }
  try {
    std::lock_guard lock(mutex_);
    const FeedbackOutcome outcome = record_feedback(store_, *reports);
    return http::HttpAnswer{200, fmt::format("{{\"events\":{},\"suppressed\":{}}}\n", outcome.events, outcome.suppressed),
                            "application/json"};
  } catch (const StoreUnavailable& error) {
    // The provider retries a failed webhook delivery; nothing is lost by saying so.
    return http::HttpAnswer{503, std::string("store unavailable: ") + error.what() + "\n"};
  }
}

}  // namespace nurture::engine
