#include "text/encoding.hpp"

#include <array>

namespace nurture::text {

namespace {

constexpr char standard_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char url_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string encode(std::string_view bytes, const char* alphabet, bool pad) {
  const std::size_t size = bytes.size();
  // Sized once and written in place (tracking links and message ids are encoded for every email sent).
  std::string out(pad ? 4 * ((size + 2) / 3) : (4 * size + 2) / 3, '\0');
  char* next = out.data();
  const auto byte = [&](std::size_t k) { return static_cast<unsigned>(static_cast<unsigned char>(bytes[k])); };
  std::size_t i = 0;
  for (; i + 3 <= size; i += 3) {
    const unsigned value = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    *next++ = alphabet[(value >> 18) & 63];
    *next++ = alphabet[(value >> 12) & 63];
    *next++ = alphabet[(value >> 6) & 63];
    *next++ = alphabet[value & 63];
  }
  if (i < size) {  // one or two bytes left
    const bool two = i + 1 < size;
    const unsigned value = (byte(i) << 16) | (two ? byte(i + 1) << 8 : 0u);
    *next++ = alphabet[(value >> 18) & 63];
    *next++ = alphabet[(value >> 12) & 63];
    if (two) *next++ = alphabet[(value >> 6) & 63];
    else if (pad) *next++ = '=';
    if (pad) *next++ = '=';
  }
  return out;
}

// The 6-bit value of a base64 or base64url character; -1 for any other.
constexpr std::array<signed char, 256> decoding_table() {
  std::array<signed char, 256> table{};
  for (auto& entry : table) entry = -1;
  for (int i = 0; i < 64; ++i) {
    table[static_cast<unsigned char>(standard_alphabet[i])] = static_cast<signed char>(i);
    table[static_cast<unsigned char>(url_alphabet[i])] = static_cast<signed char>(i);
  }
  return table;
}

}  // namespace

std::string base64_encode(std::string_view bytes) { return encode(bytes, standard_alphabet, true); }
std::string base64url_encode(std::string_view bytes) { return encode(bytes, url_alphabet, false); }

std::optional<std::string> base64_decode(std::string_view text) {
  static constexpr auto table = decoding_table();
  std::string out;
  out.reserve(text.size() / 4 * 3 + 3);
  unsigned accumulated = 0;
  int bits = 0, padding = 0;
  std::size_t symbols = 0;
  for (const char c : text) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    if (c == '=') {
      ++padding;
      continue;
    }
    const int value = table[static_cast<unsigned char>(c)];
    if (value < 0 || padding > 0) return std::nullopt;  // a stranger, or data after the padding
    ++symbols;
    accumulated = (accumulated << 6) | static_cast<unsigned>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((accumulated >> bits) & 0xff);
    }
  }
  if (symbols % 4 == 1 || padding > 2 || (padding > 0 && (symbols + padding) % 4 != 0)) return std::nullopt;
  return out;
}

std::string hex_encode(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(bytes.size() * 2, '\0');  // written in place: a push_back per digit checks capacity each time
  char* next = out.data();
  for (const char c : bytes) {
    *next++ = digits[static_cast<unsigned char>(c) >> 4];
    *next++ = digits[static_cast<unsigned char>(c) & 15];
  }
  return out;
}

}  // namespace nurture::text
