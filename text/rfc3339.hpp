#pragma once
// RFC 3339 instants as they come from outside (events' `at`, posts' `at`): `YYYY-MM-DDTHH:MM:SS[.fraction]` and
// `Z` or an offset, read by hand, digit by digit (no stream, no locale), within 1970-2199 (the system clock counts
// nanoseconds in 64 bits, which ends in 2262).

#include <chrono>
#include <optional>
#include <string_view>

namespace nurture::text {

std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view text);

}  // namespace nurture::text
