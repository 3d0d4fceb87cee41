#include "engine/event.hpp"

#include <algorithm>
#include <sstream>

#include <date/date.h>
#include <fmt/format.h>

namespace nurture::engine {

tl::expected<TimePoint, std::string> parse_rfc3339(const std::string& text) {
  // Accepts `2026-03-02T08:00:00Z`, fractional seconds, and numeric offsets (`+01:00`).
  static const char* formats[] = {"%FT%TZ", "%FT%T%Ez", "%F %TZ", "%F %T%Ez"};
  for (const char* format : formats) {
    std::istringstream in(text);
    date::sys_time<std::chrono::milliseconds> parsed;
    in >> date::parse(format, parsed);
    if (!in.fail() && in.peek() == std::char_traits<char>::eof()) return TimePoint(parsed.time_since_epoch());
  }
  return tl::unexpected(fmt::format("`at` \"{}\" is not an RFC 3339 time (e.g. 2026-03-02T08:00:00Z)", text));
}

std::string format_rfc3339(TimePoint time) {
  return date::format("%FT%TZ", std::chrono::time_point_cast<std::chrono::seconds>(time));
}

namespace {

bool printable_without_whitespace(const std::string& s) {
  for (unsigned char c : s) {
    if (c <= 0x20 || c == 0x7f) return false;
  }
  return true;
}

tl::expected<nlohmann::json, std::string> json_object_field(const StreamFields& fields, const std::string& name) {
  auto it = fields.find(name);
  if (it == fields.end()) return nlohmann::json::object();
  auto parsed = nlohmann::json::parse(it->second, nullptr, false);
  if (parsed.is_discarded()) return tl::unexpected(fmt::format("`{}` is not valid JSON", name));
  if (!parsed.is_object()) return tl::unexpected(fmt::format("`{}` must be a JSON object", name));
  return parsed;
}

}  // namespace

tl::expected<Event, std::string> parse_event(const StreamFields& fields, const std::string& stream_id) {
  Event event;
  event.stream_id = stream_id;

  auto type = fields.find("type");
  if (type == fields.end()) return tl::unexpected(std::string("missing field `type`"));
  const auto allowed = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
  };
  if (type->second.empty() || !std::all_of(type->second.begin(), type->second.end(), allowed)) {
    return tl::unexpected(fmt::format("`type` \"{}\" must match [a-z0-9_.-]+", type->second));
  }
  event.type = type->second;

  auto lead = fields.find("lead");
  if (lead == fields.end()) return tl::unexpected(std::string("missing field `lead`"));
  if (lead->second.empty() || lead->second.size() > 128 || !printable_without_whitespace(lead->second)) {
    return tl::unexpected(std::string("`lead` must be 1-128 printable bytes without whitespace"));
  }
  event.lead = lead->second;

  if (auto at = fields.find("at"); at != fields.end()) {
    auto parsed = parse_rfc3339(at->second);
    if (!parsed) return tl::unexpected(parsed.error());
    event.at = *parsed;
  } else {
    // The entry id's first part is the stream's own clock in ms.
    event.at = from_unix_ms(std::stoll(stream_id.substr(0, stream_id.find('-'))));
  }
  auto attrs = json_object_field(fields, "attrs");
  if (!attrs) return tl::unexpected(attrs.error());
  event.attrs = std::move(*attrs);
  auto props = json_object_field(fields, "props");
  if (!props) return tl::unexpected(props.error());
  event.props = std::move(*props);
  if (auto id = fields.find("id"); id != fields.end()) event.id = id->second;
  // Other fields are left alone: producers may add their own (trace ids...) without losing events.
  return event;
}

StreamFields to_stream_fields(const Event& event) {
  StreamFields fields{{"type", event.type}, {"lead", event.lead}, {"at", format_rfc3339(event.at)}};
  if (!event.attrs.empty()) fields["attrs"] = event.attrs.dump();
  if (!event.props.empty()) fields["props"] = event.props.dump();
  if (!event.id.empty()) fields["id"] = event.id;
  return fields;
}

}  // namespace nurture::engine
