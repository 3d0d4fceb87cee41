#pragma once
// UTF-8 at the boundary. Every string that comes from outside (events, forms, provider replies, files) is checked
// with is_valid_utf8 where it enters, and refused with a reason, or repaired with to_valid_utf8 where refusing would
// lose something (a provider's reply text, a report's diagnostic): nothing past the boundary sees broken UTF-8.

#include <string>
#include <string_view>

namespace nurture::text {

// Strict RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF.
bool is_valid_utf8(std::string_view bytes);

// The offset of the first byte that does not start a valid sequence; npos when all of it is valid.
std::size_t first_invalid_utf8(std::string_view bytes);

// Each byte that does not start a valid sequence becomes U+FFFD; valid text comes back unchanged.
std::string to_valid_utf8(std::string_view bytes);

// ASCII controls (0x00-0x1f, 0x7f) other than tab: what must never reach a header, a command or a Location.
bool has_control(std::string_view bytes);

// `text` cut to at most `max_bytes`, never inside a UTF-8 sequence.
std::string_view truncate_utf8(std::string_view text, std::size_t max_bytes);

}  // namespace nurture::text
