#include "workflows/duration.hpp"

#include <charconv>
#include <regex>

namespace nurture::workflows {

namespace {
struct Unit {
  char suffix;
  Duration length;
};
constexpr Unit units[] = {
    {'w', std::chrono::hours(24 * 7)}, {'d', std::chrono::hours(24)}, {'h', std::chrono::hours(1)},
    {'m', std::chrono::minutes(1)},    {'s', std::chrono::seconds(1)},
};
}  // namespace

std::optional<Duration> parse_duration(std::string_view text) {
  if (text.size() < 2) return std::nullopt;
  const char suffix = text.back();
  const std::string_view digits = text.substr(0, text.size() - 1);
  long long count = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), count);
  if (ec != std::errc{} || end != digits.data() + digits.size() || count < 0) return std::nullopt;
  for (const auto& unit : units) {
    // Past the bound, `count * length` would wrap (9223372036854775807s became -1 s); no campaign waits a century.
    if (unit.suffix == suffix) {
      if (count > max_duration / unit.length) return std::nullopt;
      return unit.length * count;
    }
  }
  return std::nullopt;
}

std::string format_duration(Duration duration) {
  for (const auto& unit : units) {
    if (duration.count() != 0 && duration % unit.length == Duration::zero()) {
      return std::to_string(duration / unit.length) + unit.suffix;
    }
  }
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(duration).count()) + "s";
}

std::optional<Rate> parse_rate(const std::string& text) {
  static const std::regex shape(R"(^\s*(\d+(?:\.\d+)?)\s*/\s*(\d*)\s*(s|m|h)\s*$)");
  std::smatch match;
  if (text.size() > 64 || !std::regex_match(text, match, shape)) return std::nullopt;
  const double count = std::stod(match[1]);
  const long units = match[2].length() ? std::stol(match[2]) : 1;
  const Duration unit = match[3] == "s" ? std::chrono::seconds(1)
                        : match[3] == "m" ? Duration(std::chrono::minutes(1))
                                          : Duration(std::chrono::hours(1));
  if (count <= 0 || units <= 0 || units > 1000) return std::nullopt;
  return Rate{count, unit * units};
}

}  // namespace nurture::workflows
