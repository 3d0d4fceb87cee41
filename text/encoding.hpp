#pragma once
// Byte encodings, one of each: base64 (RFC 4648 section 4, padded), base64url (section 5, unpadded, for tokens in
// URLs) and lower-case hex.

#include <optional>
#include <string>
#include <string_view>

namespace nurture::text {

std::string base64_encode(std::string_view bytes);
std::string base64url_encode(std::string_view bytes);
// Padded or not; whitespace (line breaks in PEM-like text) is skipped. Nothing when another character appears or
// the length cannot be base64.
std::optional<std::string> base64_decode(std::string_view text);
std::string hex_encode(std::string_view bytes);

// For byte buffers (digests): the same as a string_view of them.
inline std::string_view bytes_of(const unsigned char* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace nurture::text
