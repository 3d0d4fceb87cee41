#pragma once
// JSON from outside (event attrs/props, the admin API, provider webhooks) is parsed within limits: its size and
// nesting depth are checked before the parser runs (a 200,000-deep array would otherwise exhaust the stack of
// whatever walks it later), and the parser refuses broken UTF-8. JSON going out is written with dump_json, which
// repairs broken UTF-8 instead of throwing: no value can make writing a reply or a record fail.

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

namespace nurture::text {

struct JsonLimits {
  std::size_t max_bytes = 1 << 20;
  int max_depth = 32;  // an object or array at the top is depth 1
};

// The parsed value, or why not (too large, too deep, not JSON, not UTF-8).
tl::expected<nlohmann::json, std::string> parse_json(std::string_view text, const JsonLimits& limits);

// The deepest nesting of objects and arrays in `text` (outside strings); a cheap scan, no recursion.
int json_depth(std::string_view text);

// Compact JSON; invalid UTF-8 in strings becomes U+FFFD.
std::string dump_json(const nlohmann::json& value, int indent = -1);

}  // namespace nurture::text
