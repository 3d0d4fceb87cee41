#include "workflows/condition.hpp"

#include <algorithm>

namespace nurture::workflows {

namespace {
bool equal(const nlohmann::json& a, const nlohmann::json& b) {
  if (a.is_number() && b.is_number()) return a.get<double>() == b.get<double>();
  return a == b;
}

// -1, 0, 1, or nullopt when the two cannot be ordered (numbers with numbers, text with text).
std::optional<int> order(const nlohmann::json& a, const nlohmann::json& b) {
  if (a.is_number() && b.is_number()) {
    const double x = a.get<double>(), y = b.get<double>();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (a.is_string() && b.is_string()) {
    const int c = a.get_ref<const std::string&>().compare(b.get_ref<const std::string&>());
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  return std::nullopt;
}
}  // namespace

bool Comparison::holds(const nlohmann::json& actual) const {
  switch (op) {
    case Op::eq: return equal(actual, value);
    case Op::ne: return !equal(actual, value);
    case Op::in:
      return std::any_of(value.begin(), value.end(), [&](const nlohmann::json& v) { return equal(actual, v); });
    case Op::not_in:
      return std::none_of(value.begin(), value.end(), [&](const nlohmann::json& v) { return equal(actual, v); });
    case Op::gt: { auto o = order(actual, value); return o && *o > 0; }
    case Op::gte: { auto o = order(actual, value); return o && *o >= 0; }
    case Op::lt: { auto o = order(actual, value); return o && *o < 0; }
    case Op::lte: { auto o = order(actual, value); return o && *o <= 0; }
    case Op::contains:
      if (actual.is_string() && value.is_string()) {
        return actual.get_ref<const std::string&>().find(value.get_ref<const std::string&>()) != std::string::npos;
      }
      if (actual.is_array()) {
        return std::any_of(actual.begin(), actual.end(), [&](const nlohmann::json& v) { return equal(v, value); });
      }
      return false;
    case Op::matches: {
      // std::regex recurses once per character it consumes: a long enough value overflows the stack. Values
      // past the bound are not tested and never match (docs/workflows.md says so).
      if (!actual.is_string() || !regex) return false;
      const std::string& text = actual.get_ref<const std::string&>();
      return text.size() <= max_regex_subject_bytes && std::regex_search(text, *regex);
    }
    case Op::exists:
      return (!actual.is_null()) == value.get<bool>();
  }
  return false;
}

}  // namespace nurture::workflows
