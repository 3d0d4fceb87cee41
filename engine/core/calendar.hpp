#pragma once
// Wall-clock time in a lead's zone: send windows and wait_until. Durations elsewhere are
// elapsed time; only these two read the calendar. A local time that does not exist (DST gap) becomes the first
// instant after the gap; an ambiguous one (DST fold) its earlier instant.

#include <optional>
#include <string>

#include "engine/core/clock.hpp"
#include "workflows/model.hpp"

namespace nurture::engine {

bool is_valid_timezone(const std::string& name);

// Whether `now` falls in the window, and if not, the window's next opening.
bool in_send_window(TimePoint now, const workflows::SendWindow& window, const std::string& zone);
TimePoint next_window_opening(TimePoint now, const workflows::SendWindow& window, const std::string& zone);

// The first instant >= now that is `minute` after local midnight on one of `days`.
TimePoint next_time_of_day(TimePoint now, int minute, const workflows::DaySet& days, const std::string& zone);

// `2026-03-02 09:00 Europe/Berlin (Mon)`: an instant as people in `zone` read it (UTC when the zone is unknown).
std::string local_time_text(TimePoint at, const std::string& zone);

// `2026-05-01` (local midnight in `zone`) or an RFC 3339 time; nullopt when it is neither.
std::optional<TimePoint> parse_date_attribute(const std::string& text, const std::string& zone);

// `2026-04-01T09:00` (or with `:SS`), a wall-clock time, as an instant in `zone`; nullopt when it is not one.
std::optional<TimePoint> local_time_in(const std::string& text, const std::string& zone);

// `at` when it is not before `not_before`; else the first instant from `not_before` on with at's time of day in
// `zone` (a later day).
TimePoint same_local_time_after(TimePoint at, TimePoint not_before, const std::string& zone);

}  // namespace nurture::engine
