#include "engine/core/event.hpp"


#include <algorithm>
#include <cstdio>

#include <date/date.h>
#include <fmt/format.h>

#include "text/address.hpp"
#include "text/json.hpp"
#include "text/rfc3339.hpp"
#include "text/utf8.hpp"

namespace nurture::engine {

namespace {

}  // namespace

tl::expected<TimePoint, std::string> parse_rfc3339(const std::string& text) {
  if (auto parsed = text::parse_rfc3339(text)) return *parsed;
  return tl::unexpected(fmt::format("`at` \"{}\" is not an RFC 3339 time (e.g. 2026-03-02T08:00:00Z)",
                                    text::to_valid_utf8(text::truncate_utf8(text, 64))));
}

// By hand rather than date::format, which goes through a stream: every email and raised event prints a time.
std::string format_rfc3339(TimePoint time) {
  const auto seconds = std::chrono::time_point_cast<std::chrono::seconds>(time);
  const auto day = date::floor<date::days>(seconds);
  const date::year_month_day ymd{day};
  const date::hh_mm_ss<std::chrono::seconds> clock{seconds - day};
  char text[32];
  const int length = std::snprintf(text, sizeof(text), "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
                                   static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                                   static_cast<int>(clock.hours().count()), static_cast<int>(clock.minutes().count()),
                                   static_cast<int>(clock.seconds().count()));
  return std::string(text, static_cast<std::size_t>(std::max(length, 0)));
}

namespace {

bool printable_without_whitespace(const std::string& s) {
  for (unsigned char c : s) {
    if (c <= 0x20 || c == 0x7f) return false;
  }
  return true;
}

// Every string (keys included) within the size limit; the depth was checked before parsing.
std::optional<std::string> oversized_string(const nlohmann::json& value) {
  std::vector<const nlohmann::json*> pending{&value};
  while (!pending.empty()) {
    const nlohmann::json* node = pending.back();
    pending.pop_back();
    if (node->is_string() && node->get_ref<const std::string&>().size() > EventLimits::max_string_bytes) {
      return "a string value is longer than " + std::to_string(EventLimits::max_string_bytes) + " bytes";
    }
    if (node->is_object()) {
      for (const auto& [key, child] : node->items()) {
        if (key.size() > EventLimits::max_string_bytes) return std::string("a key is too long");
        pending.push_back(&child);
      }
    } else if (node->is_array()) {
      for (const auto& child : *node) pending.push_back(&child);
    }
  }
  return std::nullopt;
}

tl::expected<nlohmann::json, std::string> json_object_field(const StreamFields& fields, const std::string& name) {
  auto it = fields.find(name);
  if (it == fields.end()) return nlohmann::json::object();
  auto parsed = text::parse_json(it->second, {EventLimits::max_entry_bytes, EventLimits::max_depth});
  if (!parsed) return tl::unexpected(fmt::format("`{}` {}", name, parsed.error()));
  if (!parsed->is_object()) return tl::unexpected(fmt::format("`{}` must be a JSON object", name));
  if (parsed->size() > EventLimits::max_attributes) {
    return tl::unexpected(fmt::format("`{}` has {} keys, more than the limit of {}", name, parsed->size(),
                                      EventLimits::max_attributes));
  }
  if (auto problem = oversized_string(*parsed)) return tl::unexpected(fmt::format("`{}`: {}", name, *problem));
  return parsed;
}

// Fields whose meaning the engine knows are checked here, where they enter, not where they are used.
std::optional<std::string> check_known_attributes(const nlohmann::json& attrs) {
  if (auto email = attrs.find("email"); email != attrs.end() && !email->is_null()) {
    if (!email->is_string() || !text::parse_address(email->get_ref<const std::string&>())) {
      return fmt::format("`attrs.email` {} is not a mail address", text::dump_json(*email).substr(0, 300));
    }
  }
  return std::nullopt;
}

tl::expected<void, std::string> check_entry(const StreamFields& fields) {
  std::size_t bytes = 0;
  for (const auto& [name, value] : fields) bytes += name.size() + value.size();
  if (bytes > EventLimits::max_entry_bytes) {
    return tl::unexpected(fmt::format("the entry is {} bytes, more than the limit of {}", bytes,
                                      EventLimits::max_entry_bytes));
  }
  return {};
}

}  // namespace

tl::expected<Event, std::string> parse_event(const StreamFields& fields, const std::string& stream_id) {
  if (auto size = check_entry(fields); !size) return tl::unexpected(size.error());
  Event event;
  event.stream_id = stream_id;

  auto type = fields.find("type");
  if (type == fields.end()) return tl::unexpected(std::string("missing field `type`"));
  const auto allowed = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
  };
  if (type->second.size() > EventLimits::max_type_bytes) {
    return tl::unexpected(fmt::format("`type` is longer than {} bytes", EventLimits::max_type_bytes));
  }
  if (type->second.empty() || !std::all_of(type->second.begin(), type->second.end(), allowed)) {
    return tl::unexpected(fmt::format("`type` \"{}\" must match [a-z0-9_.-]+", text::to_valid_utf8(type->second)));
  }
  event.type = type->second;

  auto lead = fields.find("lead");
  if (lead == fields.end()) return tl::unexpected(std::string("missing field `lead`"));
  if (lead->second.empty() || lead->second.size() > EventLimits::max_lead_bytes ||
      !printable_without_whitespace(lead->second) || !text::is_valid_utf8(lead->second)) {
    return tl::unexpected(std::string("`lead` must be 1-128 bytes of UTF-8 without whitespace or controls"));
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
  if (auto problem = check_known_attributes(*attrs)) return tl::unexpected(*problem);
  event.attrs = std::move(*attrs);
  auto props = json_object_field(fields, "props");
  if (!props) return tl::unexpected(props.error());
  event.props = std::move(*props);
  if (auto id = fields.find("id"); id != fields.end()) {
    if (id->second.empty() || id->second.size() > EventLimits::max_id_bytes ||
        !printable_without_whitespace(id->second) || !text::is_valid_utf8(id->second)) {
      return tl::unexpected(std::string("`id` must be 1-256 bytes of UTF-8 without whitespace or controls"));
    }
    event.id = id->second;
  }
  // Other fields are left alone: producers may add their own (trace ids...) without losing events.
  return event;
}

tl::expected<StreamFields, std::string> fields_from_json_object(std::string_view json_text) {
  // One level more than attrs and props themselves: they sit inside this object.
  auto parsed = text::parse_json(json_text, {EventLimits::max_entry_bytes, EventLimits::max_depth + 1});
  if (!parsed) return tl::unexpected("the event " + parsed.error());
  if (!parsed->is_object()) return tl::unexpected(std::string("the event is not a JSON object"));
  StreamFields fields;
  for (const auto& [key, value] : parsed->items()) {
    fields[key] = value.is_string() ? value.get<std::string>() : text::dump_json(value);
  }
  return fields;
}

StreamFields to_stream_fields(const Event& event) {
  StreamFields fields{{"type", event.type}, {"lead", event.lead}, {"at", format_rfc3339(event.at)}};
  if (!event.attrs.empty()) fields["attrs"] = text::dump_json(event.attrs);
  if (!event.props.empty()) fields["props"] = text::dump_json(event.props);
  if (!event.id.empty()) fields["id"] = event.id;
  return fields;
}

}  // namespace nurture::engine
