#pragma once
// Shared by the fuzzers: an invariant that fails loudly (a finding, like a crash), and a temporary file for the
// loaders that read files.

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>

namespace nurture::fuzz {

inline void require(bool holds, const char* what) {
  if (!holds) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
  }
}

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// One file per process, rewritten for each input.
inline std::string scratch_file(std::string_view content, const char* suffix) {
  static const std::string path = "/tmp/nurture-fuzz-" + std::to_string(::getpid()) + suffix;
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(content.data(), static_cast<std::streamsize>(content.size()));
  return path;
}

// Splits the input at NUL bytes into up to `count` pieces (missing ones are empty).
template <std::size_t count>
std::array<std::string, count> pieces(std::string_view input) {
  std::array<std::string, count> out;
  std::size_t i = 0;
  for (std::size_t start = 0; i < count && start <= input.size(); ++i) {
    const std::size_t end = std::min(input.find('\0', start), input.size());
    out[i] = std::string(input.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

}  // namespace nurture::fuzz
