#pragma once
// Lead events as they arrive on the stream (docs/events.md), and their validation. An entry that breaks the wire
// format is not an Event: parse_event says why, and ingest dead-letters it with that reason.

#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

#include "engine/core/clock.hpp"

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

// What one event may carry (docs/events.md). An entry past any of them is dead-lettered with the limit it broke;
// together they bound what one event can cost the engine and Redis.
struct EventLimits {
  static constexpr std::size_t max_entry_bytes = 64 * 1024;  // all fields and values of the stream entry
  static constexpr std::size_t max_lead_bytes = 128;
  static constexpr std::size_t max_type_bytes = 128;
  static constexpr std::size_t max_id_bytes = 256;
  static constexpr std::size_t max_attributes = 256;         // per event, and per lead once merged
  static constexpr int max_depth = 8;                         // nesting of objects/arrays in attrs and props
  static constexpr std::size_t max_string_bytes = 8 * 1024;  // any string value or key inside attrs/props
};

// `stream_id` gives the default `at` (the entry's own time) and is kept on the event.
tl::expected<Event, std::string> parse_event(const StreamFields& fields, const std::string& stream_id);

// An event written as one JSON object (the admin API's POST /events, simulate's events.jsonl): strings are taken
// as they are, objects and numbers as their JSON text, as a producer would XADD them. Within the event limits
// (size and depth) and refused with a reason otherwise; parse_event checks the fields after.
tl::expected<StreamFields, std::string> fields_from_json_object(std::string_view json_text);

// The stream fields of an event, for producers (`nurture emit`, the engine's own events).
StreamFields to_stream_fields(const Event& event);

// RFC 3339 (`2026-03-02T08:00:00Z`, `t`/`z` in lower case, a space for `T`, 1-9 fractional digits kept to the
// millisecond, `+01:00` offsets), years 1970-2199.
tl::expected<TimePoint, std::string> parse_rfc3339(const std::string& text);
std::string format_rfc3339(TimePoint time);  // UTC, `Z`, to the second

}  // namespace nurture::engine
