#pragma once
// Durations of the language: `30s`, `15m`, `2h`, `3d`, `1w`. Elapsed time: 1d = 24 h whatever the DST.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace nurture::workflows {

using Duration = std::chrono::milliseconds;

// The longest duration a campaign may name (100 years): longer ones are refused, not wrapped.
inline constexpr Duration max_duration = std::chrono::hours(24 * 36525);

std::optional<Duration> parse_duration(std::string_view text);
std::string format_duration(Duration duration);

// A rate, `N/s`, `N/m`, `N/5m`, `N/h` (a connector's `rate`, a broadcast's `throttle`): `count` per `per`.
struct Rate {
  double count = 0;
  Duration per{0};
};
std::optional<Rate> parse_rate(const std::string& text);

}  // namespace nurture::workflows
