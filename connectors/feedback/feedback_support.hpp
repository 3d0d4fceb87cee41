#pragma once
// What the built-in connectors' feedback readers (sdk/feedback.hpp) share: a result type, reading provider JSON
// within bounds, replay windows, constant-time comparison, Message-IDs, and a reader made of a function.
// Only hard bounces (permanent: SMTP 5.x.x, provider "hard"/"permanent") count: a full mailbox today may take mail
// tomorrow. The engine checks what a reader returns (UTF-8, addresses) before it stores anything.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

#include "nurture/error.hpp"
#include "nurture/sdk/connector.hpp"

namespace nurture::connectors::feedback {

using Headers = std::map<std::string, std::string>;  // names in lower case
using json = nlohmann::json;
using Clock = std::chrono::system_clock;

// Why a report was not read: the one Error type, and whether it could not be authenticated (the sender is refused:
// HTTP 401) or is not what the provider sends (400).
struct FeedbackError : Error {
  enum class Kind { unauthorized, malformed };
  Kind kind = Kind::malformed;
  FeedbackError(Kind kind, std::string message) : Error{std::move(message)}, kind(kind) {}
};
using FeedbackResult = tl::expected<std::vector<sdk::Feedback>, FeedbackError>;

// Not what the provider sends (400); not from the provider, as far as can be told (401).
tl::unexpected<FeedbackError> malformed(std::string message);
tl::unexpected<FeedbackError> refuse(std::string message);

std::string lower(std::string text);
std::string header_of(const Headers& headers, const std::string& name);
// A member as text (strings as they are, numbers written out); "" for anything else.
std::string text_of(const json& object, const char* key);
// A member that should be an object; anything else (missing, a string, a list) reads as empty.
json object_of(const json& parent, const char* key);
// A provider's time stamp; nothing when it is NaN, before 1970 or past what the clock can hold (year 2262):
// converting such a number would overflow.
std::optional<Clock::time_point> from_unix_seconds(double seconds);
// The time stamp member of an event, or `otherwise` when it is missing or out of range.
Clock::time_point time_of(const json& event, Clock::time_point otherwise);
// Webhook bodies are outside input: parsed within a size and depth (a provider's events are shallow); discarded
// when they do not parse.
json bounded_json(const std::string& body);
// Within 15 minutes of now either way: older signed requests may be replays.
bool fresh(double timestamp, Clock::time_point now);
bool equal_in_constant_time(const std::string& a, const std::string& b);
// The action id of a Message-ID nurture wrote: <action_id@domain>.
std::string action_of_message_id(std::string message_id);

// The ids nurture gave the message, as the provider echoes them (custom args, user variables, metadata):
// action_id, lead, workflow, step.
void take_echoed_ids(sdk::Feedback& report, const json& echoed);

// A reader made of a function, for the connector factories.
std::unique_ptr<sdk::FeedbackReader> reader(std::function<FeedbackResult(const sdk::WebhookRequest&)> read);

}  // namespace nurture::connectors::feedback
