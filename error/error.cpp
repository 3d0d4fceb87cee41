#include "error/error.hpp"

#include <fmt/format.h>

namespace nurture {

std::string Error::format(const char* severity) const {
  std::string out = where.file;
  if (!out.empty() && where.line > 0) out += fmt::format(":{}", where.line);
  if (!out.empty() && where.line > 0 && where.column > 0) out += fmt::format(":{}", where.column);
  out += out.empty() ? fmt::format("{}: ", severity) : fmt::format(": {}: ", severity);
  out += message;
  if (!hint.empty()) out += fmt::format(" ({})", hint);
  return out;
}

}  // namespace nurture
