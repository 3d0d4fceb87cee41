#include "engine/http/webhooks.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "engine/runtime/feedback_recorder.hpp"

namespace nurture::engine {

void WebhookReceiver::use(std::shared_ptr<const ConnectorSet> connectors) {
  std::lock_guard lock(mutex_);
  connectors_ = std::move(connectors);
}

std::optional<http::HttpAnswer> WebhookReceiver::handle(const http::HttpCall& call) {
  const std::string prefix = "/webhooks/";
  if (call.target.rfind(prefix, 0) != 0) return std::nullopt;
  std::string name = call.target.substr(prefix.size());
  name = name.substr(0, name.find('?'));
  std::lock_guard lock(mutex_);
  const sdk::FeedbackReader* reader = connectors_ ? connectors_->feedback_reader(name) : nullptr;
  if (!reader) return http::HttpAnswer{404, "no webhook endpoint for this connector\n"};
  if (call.method != "POST") return http::HttpAnswer{405, "POST only\n"};

  sdk::FeedbackRead read;
  try {
    read = reader->read({call.body, call.headers, clock_.now()});
  } catch (const std::exception& e) {  // a reader's bug costs this request, nothing else
    read = {sdk::FeedbackRead::Outcome::malformed, {}, std::string("the reader failed: ") + e.what()};
  }
  if (read.outcome != sdk::FeedbackRead::Outcome::read) {
    spdlog::warn("webhook {} refused: {}", name, read.why);
    const bool unauthorized = read.outcome == sdk::FeedbackRead::Outcome::unauthorized;
    return http::HttpAnswer{unauthorized ? 401 : 400, read.why + "\n"};
  }
  try {
    const FeedbackOutcome outcome = record_feedback(store_, std::move(read.reports));
    return http::HttpAnswer{200, fmt::format("{{\"events\":{},\"suppressed\":{}}}\n", outcome.events, outcome.suppressed),
                            "application/json"};
  } catch (const StoreUnavailable& error) {
    // The provider retries a failed webhook delivery; nothing is lost by saying so.
    return http::HttpAnswer{503, std::string("store unavailable: ") + error.what() + "\n"};
  }
}

}  // namespace nurture::engine
