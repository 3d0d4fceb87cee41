#include "connectors/feedback/feedback_support.hpp"

#include <algorithm>
#include <cctype>

#include <openssl/crypto.h>

#include "nurture/sdk/connector.hpp"
#include "text/json.hpp"

namespace nurture::connectors::feedback {

namespace {
constexpr auto replay_window = std::chrono::minutes(15);

class FunctionReader final : public sdk::FeedbackReader {
 public:
  explicit FunctionReader(std::function<FeedbackResult(const sdk::WebhookRequest&)> read) : read_(std::move(read)) {}
  sdk::FeedbackRead read(const sdk::WebhookRequest& request) const override {
    sdk::FeedbackRead out;
    FeedbackResult result = read_(request);
    if (result) {
      out.reports = std::move(*result);
    } else {
      out.outcome = result.error().kind == FeedbackError::Kind::unauthorized ? sdk::FeedbackRead::Outcome::unauthorized
                                                                             : sdk::FeedbackRead::Outcome::malformed;
      out.why = std::move(result.error().message);
    }
    return out;
  }

 private:
  std::function<FeedbackResult(const sdk::WebhookRequest&)> read_;
};
}  // namespace

tl::unexpected<FeedbackError> malformed(std::string message) {
  return tl::unexpected(FeedbackError{FeedbackError::Kind::malformed, std::move(message)});
}
tl::unexpected<FeedbackError> refuse(std::string message) {
  return tl::unexpected(FeedbackError{FeedbackError::Kind::unauthorized, std::move(message)});
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

std::string header_of(const Headers& headers, const std::string& name) {
  auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

std::string text_of(const json& object, const char* key) {
  if (!object.is_object() || !object.contains(key)) return {};
  const json& value = object[key];
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number()) return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return {};
}

json object_of(const json& parent, const char* key) {
  if (!parent.is_object()) return json::object();
  auto it = parent.find(key);
  return it != parent.end() && it->is_object() ? *it : json::object();
}

std::optional<Clock::time_point> from_unix_seconds(double seconds) {
  constexpr double last = static_cast<double>(
      std::chrono::duration_cast<std::chrono::seconds>(Clock::duration::max()).count() - 1);
  if (!(seconds >= 0 && seconds < last)) return std::nullopt;
  return Clock::time_point(std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds)));
}

Clock::time_point time_of(const json& event, Clock::time_point otherwise) {
  auto it = event.find("timestamp");
  if (it == event.end() || !it->is_number()) return otherwise;
  return from_unix_seconds(it->get<double>()).value_or(otherwise);
}

json bounded_json(const std::string& body) {
  auto parsed = text::parse_json(body, {4 << 20, 16});
  return parsed ? std::move(*parsed) : json(json::value_t::discarded);
}

bool fresh(double timestamp, Clock::time_point now) {
  const auto at = from_unix_seconds(timestamp);
  return at && *at > now - replay_window && *at < now + replay_window;
}

bool equal_in_constant_time(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string action_of_message_id(std::string message_id) {
  message_id.erase(std::remove_if(message_id.begin(), message_id.end(),
                                  [](char c) { return c == '<' || c == '>' || std::isspace(static_cast<unsigned char>(c)); }),
                   message_id.end());
  const auto at = message_id.find('@');
  return at == std::string::npos ? message_id : message_id.substr(0, at);
}

void take_echoed_ids(sdk::Feedback& report, const json& echoed) {
  report.action_id = text_of(echoed, "action_id");
  report.lead = text_of(echoed, "lead");
  report.workflow = text_of(echoed, "workflow");
  report.step = text_of(echoed, "step");
}

std::unique_ptr<sdk::FeedbackReader> reader(std::function<FeedbackResult(const sdk::WebhookRequest&)> read) {
  return std::make_unique<FunctionReader>(std::move(read));
}

}  // namespace nurture::connectors::feedback
