#pragma once
// Lead attributes by type: nurture.yaml's `attributes:` declares some (`seats: number`), and every way leads come
// in from outside (`nurture emit`, `nurture import`, the admin API's POST /events) types a value by its declaration,
// so a condition like `{ attr.seats: { gt: 50 } }` holds for an imported lead as for an emitted one.
// Undeclared attributes written as text (a CSV cell, `--attr k=v`) are inferred alike: a JSON number is a number,
// `true`/`false` a boolean, anything else text.

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

namespace nurture::workflows {

enum class AttributeType { string, number, boolean, date, email, timezone };

std::optional<AttributeType> parse_attribute_type(std::string_view name);
std::string_view attribute_type_name(AttributeType type);

using AttributeTypes = std::map<std::string, AttributeType>;

// A value written as text, typed: by its declaration when `name` is declared, else inferred.
tl::expected<nlohmann::json, std::string> attribute_from_text(const AttributeTypes& declared, const std::string& name,
                                                              const std::string& text);
// A JSON value (the admin API's body) checked and converted to its declared type; undeclared ones as they are.
tl::expected<nlohmann::json, std::string> attribute_from_json(const AttributeTypes& declared, const std::string& name,
                                                              const nlohmann::json& value);
// Every member of an `attrs` object through attribute_from_json; the first problem, naming the attribute.
tl::expected<void, std::string> type_attributes(const AttributeTypes& declared, nlohmann::json& attrs);

}  // namespace nurture::workflows
