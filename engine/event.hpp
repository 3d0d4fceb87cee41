#pragma once
// Lead events as they arrive on the stream (spec/events.md), and their validation. An entry that breaks the wire
// format is not an Event: parse_event says why, and ingest dead-letters it with that reason.

#include <map>
#include <string>

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

#include "engine/clock.hpp"

namespace nurture::engine {

struct Event {
  std::string type;
  std::string lead;
  TimePoint at;
  nlohmann::json attrs = nlohmann::json::object();
  nlohmann::json props = nlohmann::json::object();
  std::string id;         // producer idempotency key, may be empty
  std::string stream_id;  // the entry id in the stream
};

using StreamFields = std::map<std::string, std::string>;

// `stream_id` gives the default `at` (the entry's own time) and is kept on the event.
tl::expected<Event, std::string> parse_event(const StreamFields& fields, const std::string& stream_id);

// The stream fields of an event, for producers (`nurture emit`, the engine's own events).
StreamFields to_stream_fields(const Event& event);

tl::expected<TimePoint, std::string> parse_rfc3339(const std::string& text);
std::string format_rfc3339(TimePoint time);  // UTC, `Z`, to the second

}  // namespace nurture::engine
