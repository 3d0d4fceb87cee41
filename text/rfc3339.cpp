#include "text/rfc3339.hpp"

#include <algorithm>

#include <date/date.h>

namespace nurture::text {

namespace {

// Reads `count` digits at `pos`; -1 when they are not all digits.
int digits(std::string_view s, std::size_t pos, std::size_t count) {
  if (pos + count > s.size()) return -1;
  int value = 0;
  for (std::size_t i = pos; i < pos + count; ++i) {
    if (s[i] < '0' || s[i] > '9') return -1;
    value = value * 10 + (s[i] - '0');
  }
  return value;
}

bool rfc3339_fields(std::string_view s, std::chrono::system_clock::time_point& out) {
  // YYYY-MM-DD?HH:MM:SS[.f+](Z|+HH:MM|-HH:MM)
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || s[13] != ':' || s[16] != ':') return false;
  if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return false;
  const int year = digits(s, 0, 4), month = digits(s, 5, 2), day = digits(s, 8, 2);
  const int hour = digits(s, 11, 2), minute = digits(s, 14, 2), second = digits(s, 17, 2);
  // The engine's clock counts nanoseconds in 64 bits, which ends in 2262: later times would overflow.
  if (year < 1970 || year > 2199 || month < 0 || day < 0 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 ||
      second > 60) {
    return false;
  }
  const date::year_month_day ymd{date::year(year), date::month(static_cast<unsigned>(month)),
                                 date::day(static_cast<unsigned>(day))};
  if (!ymd.ok()) return false;
  std::size_t pos = 19;
  long long millis = 0;
  if (pos < s.size() && s[pos] == '.') {
    const std::size_t start = ++pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
    const std::size_t count = pos - start;
    if (count == 0 || count > 9) return false;
    for (std::size_t i = 0; i < 3; ++i) millis = millis * 10 + (i < count ? s[start + i] - '0' : 0);
  }
  int offset_minutes = 0;
  if (pos + 1 == s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    // UTC
  } else if (pos + 6 == s.size() && (s[pos] == '+' || s[pos] == '-') && s[pos + 3] == ':') {
    const int oh = digits(s, pos + 1, 2), om = digits(s, pos + 4, 2);
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return false;
    offset_minutes = (s[pos] == '+' ? 1 : -1) * (oh * 60 + om);
  } else {
    return false;
  }
  const auto days = date::sys_days(ymd);
  out = std::chrono::system_clock::time_point(days.time_since_epoch()) + std::chrono::hours(hour) + std::chrono::minutes(minute - offset_minutes) +
        std::chrono::seconds(std::min(second, 59)) + std::chrono::milliseconds(millis);
  return true;
}

}  // namespace

std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view text) {
  std::chrono::system_clock::time_point parsed;
  if (text.size() <= 40 && rfc3339_fields(text, parsed)) return parsed;
  return std::nullopt;
}

}  // namespace nurture::text
