#include "text/json.hpp"

#include <fmt/format.h>

#include "text/utf8.hpp"

namespace nurture::text {

int json_depth(std::string_view text) {
  int depth = 0, deepest = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      deepest = std::max(deepest, ++depth);
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return deepest;
}

tl::expected<nlohmann::json, std::string> parse_json(std::string_view text, const JsonLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return tl::unexpected(fmt::format("is {} bytes, more than the limit of {}", text.size(), limits.max_bytes));
  }
  if (json_depth(text) > limits.max_depth) {
    return tl::unexpected(fmt::format("nests deeper than {} levels", limits.max_depth));
  }
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {  // parse_error, and out_of_range for numbers like 22e2222
    // The parser's message names the byte and what it expected, e.g. an ill-formed UTF-8 byte.
    std::string message = e.what();
    if (const auto colon = message.find("] "); colon != std::string::npos) message = message.substr(colon + 2);
    // The message quotes what was read last, which may be the broken bytes themselves.
    return tl::unexpected("is not valid JSON (" + to_valid_utf8(truncate_utf8(message, 300)) + ")");
  }
}

std::string dump_json(const nlohmann::json& value, int indent) {
  return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace nurture::text
