#include "engine/core/calendar.hpp"

#include <sstream>

#include <date/tz.h>

#include "engine/core/event.hpp"

namespace nurture::engine {

namespace {

const date::time_zone* zone_or_utc(const std::string& name) {
  try {
    return date::locate_zone(name.empty() ? "UTC" : name);
  } catch (const std::exception&) {
    return date::locate_zone("UTC");
  }
}

// Local day + minutes -> the instant, with the DST rules of semantics.md.
TimePoint to_instant(const date::time_zone* zone, date::local_days day, int minute) {
  const date::local_seconds local = day + std::chrono::minutes(minute);
  const date::local_info info = zone->get_info(local);
  switch (info.result) {
    case date::local_info::unique:
      return TimePoint(local.time_since_epoch() - info.first.offset);
    case date::local_info::ambiguous:  // the earlier of the two
      return TimePoint(local.time_since_epoch() - info.first.offset);
    case date::local_info::nonexistent:  // the gap ends where the second offset's period begins
      return TimePoint(info.second.begin.time_since_epoch());
  }
  return TimePoint(local.time_since_epoch());
}

struct LocalNow {
  date::local_days day;
  int minute;    // minutes after midnight
  int weekday;   // 0 = Sunday
};

LocalNow local_now(TimePoint now, const date::time_zone* zone) {
  const auto local = zone->to_local(std::chrono::time_point_cast<std::chrono::seconds>(now));
  const date::local_days day = date::floor<date::days>(local);
  const auto since_midnight = std::chrono::duration_cast<std::chrono::minutes>(local - day);
  return {day, static_cast<int>(since_midnight.count()), static_cast<int>(date::weekday(day).c_encoding())};
}

}  // namespace

bool is_valid_timezone(const std::string& name) {
  if (name.empty()) return false;
  try {
    date::locate_zone(name);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

bool in_send_window(TimePoint now, const workflows::SendWindow& window, const std::string& zone_name) {
  const auto local = local_now(now, zone_or_utc(zone_name));
  return window.days[local.weekday] && local.minute >= window.from_minute && local.minute < window.to_minute;
}

TimePoint next_window_opening(TimePoint now, const workflows::SendWindow& window, const std::string& zone_name) {
  const date::time_zone* zone = zone_or_utc(zone_name);
  const auto local = local_now(now, zone);
  for (int offset = 0; offset <= 7; ++offset) {
    const date::local_days day = local.day + date::days(offset);
    const int weekday = static_cast<int>(date::weekday(day).c_encoding());
    if (!window.days[weekday]) continue;
    const TimePoint opening = to_instant(zone, day, window.from_minute);
    if (opening > now) return opening;
  }
  return now;  // no open day at all: validation refuses that, so this is only a guard
}

TimePoint next_time_of_day(TimePoint now, int minute, const workflows::DaySet& days, const std::string& zone_name) {
  const date::time_zone* zone = zone_or_utc(zone_name);
  const auto local = local_now(now, zone);
  for (int offset = 0; offset <= 7; ++offset) {
    const date::local_days day = local.day + date::days(offset);
    if (!days[static_cast<int>(date::weekday(day).c_encoding())]) continue;
    const TimePoint candidate = to_instant(zone, day, minute);
    if (candidate >= now) return candidate;
  }
  return now;
}

std::optional<TimePoint> parse_date_attribute(const std::string& text, const std::string& zone_name) {
  if (auto instant = parse_rfc3339(text)) return *instant;
  std::istringstream in(text);
  date::local_days day;
  in >> date::parse("%F", day);
  if (in.fail() || in.peek() != std::char_traits<char>::eof()) return std::nullopt;
  return to_instant(zone_or_utc(zone_name), day, 0);
}

std::string local_time_text(TimePoint at, const std::string& zone_name) {
  const date::time_zone* zone = zone_or_utc(zone_name);
  const auto local = zone->to_local(std::chrono::floor<std::chrono::minutes>(at));
  return date::format("%F %H:%M ", local) + std::string(zone->name()) + date::format(" (%a)", local);
}

std::optional<TimePoint> local_time_in(const std::string& text, const std::string& zone_name) {
  std::istringstream in(text);
  date::local_seconds local;
  in >> date::parse(text.size() > 16 ? "%FT%T" : "%FT%R", local);
  if (in.fail() || in.peek() != std::char_traits<char>::eof()) return std::nullopt;
  const date::local_days day = date::floor<date::days>(local);
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(local - day);
  const int minute = static_cast<int>(seconds.count() / 60);
  return to_instant(zone_or_utc(zone_name), day, minute) + std::chrono::seconds(seconds.count() % 60);
}

TimePoint same_local_time_after(TimePoint at, TimePoint not_before, const std::string& zone_name) {
  if (at >= not_before) return at;
  const date::time_zone* zone = zone_or_utc(zone_name);
  const auto local = zone->to_local(std::chrono::time_point_cast<std::chrono::seconds>(at));
  const date::local_days day = date::floor<date::days>(local);
  const auto since_midnight = std::chrono::duration_cast<std::chrono::seconds>(local - day);
  const int minute = static_cast<int>(since_midnight.count() / 60);
  const auto seconds = std::chrono::seconds(since_midnight.count() % 60);
  const date::local_days from = local_now(not_before, zone).day;
  for (int offset = 0; offset <= 2; ++offset) {
    const TimePoint candidate = to_instant(zone, from + date::days(offset), minute) + seconds;
    if (candidate >= not_before) return candidate;
  }
  return not_before;
}

}  // namespace nurture::engine
