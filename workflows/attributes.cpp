#include "workflows/attributes.hpp"

#include <algorithm>
#include <cmath>
#include <string_view>

#include <date/tz.h>
#include <fmt/format.h>

#include "text/address.hpp"
#include "text/rfc3339.hpp"

namespace nurture::workflows {

namespace {

constexpr std::pair<std::string_view, AttributeType> type_names[] = {
    {"string", AttributeType::string}, {"number", AttributeType::number}, {"boolean", AttributeType::boolean},
    {"date", AttributeType::date},     {"email", AttributeType::email},   {"timezone", AttributeType::timezone},
};

// A JSON number literal only ("139", "-2.5", "1e3"; not "0139", " 7", "0x10", "inf"): a zip code or a phone number
// written with a leading zero or a plus stays text.
std::optional<double> number_literal(const std::string& text) {
  if (text.empty() || text.size() > 64) return std::nullopt;
  const auto parsed = nlohmann::json::parse(text, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_number()) return std::nullopt;
  const double value = parsed.get<double>();
  if (!std::isfinite(value)) return std::nullopt;
  return value;
}

nlohmann::json number_json(const std::string& text, double value) {
  // Whole numbers stay integers, so `seats: 139` reads back as 139 and not 139.0.
  const auto parsed = nlohmann::json::parse(text, nullptr, false);
  if (parsed.is_number_integer()) return parsed;
  return value;
}

std::string lowered(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

bool is_date(const std::string& text) {
  if (text::parse_rfc3339(text)) return true;
  // A calendar day, YYYY-MM-DD: read through the same strict reader as the start of that day in UTC.
  return text.size() == 10 && text::parse_rfc3339(text + "T00:00:00Z").has_value();
}

bool is_timezone(const std::string& text) {
  if (text.empty() || text.size() > 64) return false;
  try {
    date::locate_zone(text);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

tl::expected<nlohmann::json, std::string> typed(AttributeType type, const std::string& name, const std::string& text) {
  auto refuse = [&](std::string_view expected) {
    return tl::unexpected(fmt::format("attribute {} is declared {} in nurture.yaml, and \"{}\" is not {}", name,
                                      attribute_type_name(type), text, expected));
  };
  switch (type) {
    case AttributeType::string:
      return nlohmann::json(text);
    case AttributeType::number:
      if (auto value = number_literal(text)) return number_json(text, *value);
      return refuse("a number (write 139 or 2.5)");
    case AttributeType::boolean: {
      const std::string word = lowered(text);
      if (word == "true" || word == "yes" || word == "1") return nlohmann::json(true);
      if (word == "false" || word == "no" || word == "0") return nlohmann::json(false);
      return refuse("true or false");
    }
    case AttributeType::date:
      if (is_date(text)) return nlohmann::json(text);
      return refuse("a date (YYYY-MM-DD, or an RFC 3339 instant with its zone)");
    case AttributeType::email:
      if (text::parse_address(text)) return nlohmann::json(text);
      return refuse("a mail address");
    case AttributeType::timezone:
      if (is_timezone(text)) return nlohmann::json(text);
      return refuse("an IANA time zone (e.g. Europe/Berlin)");
  }
  return nlohmann::json(text);
}

}  // namespace

std::optional<AttributeType> parse_attribute_type(std::string_view name) {
  for (const auto& [text, type] : type_names) {
    if (text == name) return type;
  }
  return std::nullopt;
}

std::string_view attribute_type_name(AttributeType type) {
  for (const auto& [text, known] : type_names) {
    if (known == type) return text;
  }
  return "string";
}

tl::expected<nlohmann::json, std::string> attribute_from_text(const AttributeTypes& declared, const std::string& name,
                                                              const std::string& text) {
  if (const auto it = declared.find(name); it != declared.end()) return typed(it->second, name, text);
  if (auto value = number_literal(text)) return number_json(text, *value);
  if (text == "true") return nlohmann::json(true);
  if (text == "false") return nlohmann::json(false);
  return nlohmann::json(text);
}

tl::expected<nlohmann::json, std::string> attribute_from_json(const AttributeTypes& declared, const std::string& name,
                                                              const nlohmann::json& value) {
  const auto it = declared.find(name);
  if (it == declared.end() || value.is_null()) return value;  // null removes an attribute, whatever its type
  if (value.is_string()) return typed(it->second, name, value.get<std::string>());
  if (it->second == AttributeType::number && value.is_number()) return value;
  if (it->second == AttributeType::boolean && value.is_boolean()) return value;
  if (it->second == AttributeType::string && (value.is_number() || value.is_boolean())) return value.dump();
  return tl::unexpected(fmt::format("attribute {} is declared {} in nurture.yaml, and {} is not", name,
                                    attribute_type_name(it->second), value.dump()));
}

tl::expected<void, std::string> type_attributes(const AttributeTypes& declared, nlohmann::json& attrs) {
  if (declared.empty() || !attrs.is_object()) return {};
  for (auto& [name, value] : attrs.items()) {
    auto typed_value = attribute_from_json(declared, name, value);
    if (!typed_value) return tl::unexpected(typed_value.error());
    value = std::move(*typed_value);
  }
  return {};
}

}  // namespace nurture::workflows
