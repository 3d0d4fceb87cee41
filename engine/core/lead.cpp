#include "engine/core/lead.hpp"

#include <cmath>

#include <charconv>
#include <string_view>
#include <vector>

#include <fmt/compile.h>
#include <fmt/format.h>

namespace nurture::engine {

int Enrollment::visit_of(std::size_t step_index) const {
  auto it = visits.find(step_index);
  return it == visits.end() ? 1 : it->second;
}

std::string Enrollment::pack() const {
  // entered_ms in base 36 after a `~` (9 bytes instead of 13): with it a typical lead's hash fits a smaller
  // allocation. The decimal form of earlier versions is read too.
  char entered[16] = {'~'};
  const char* entered_end = std::to_chars(entered + 1, entered + sizeof entered, entered_ms, 36).ptr;
  std::string out = fmt::format(FMT_COMPILE("{},{},{},{},{},{}"), version, step, seq,
                                std::string_view(entered, entered_end), static_cast<char>(status), number);
  if (!visits.empty() || !arms.empty()) {
    out += ',';
    bool first = true;
    for (const auto& [step_index, count] : visits) {
      if (!first) out += ';';
      out += fmt::format(FMT_COMPILE("{}:{}"), step_index, count);
      first = false;
    }
  }
  if (!arms.empty()) out += ',' + arms_text();
  return out;
}

std::string Enrollment::arms_text() const {
  std::string out;
  for (const auto& [split, arm] : arms) {
    if (!out.empty()) out += ';';
    out += fmt::format(FMT_COMPILE("{}:{}"), split, arm);
  }
  return out;
}

namespace {
template <typename T>
bool parse_number(std::string_view text, T& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && end == text.data() + text.size();
}

bool parse_entered_ms(std::string_view text, std::int64_t& out) {
  if (!text.starts_with('~')) return parse_number(text, out);
  text.remove_prefix(1);
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out, 36);
  return !text.empty() && ec == std::errc{} && end == text.data() + text.size();
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    std::size_t end = text.find(separator, start);
    parts.push_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return parts;
}
}  // namespace

std::optional<Enrollment> Enrollment::unpack(const std::string& text) {
  const auto parts = split(text, ',');
  if (parts.size() < 6 || parts.size() > 8 || parts[4].size() != 1) return std::nullopt;
  Enrollment e;
  if (!parse_number(parts[0], e.version) || !parse_number(parts[1], e.step) || !parse_number(parts[2], e.seq) ||
      !parse_entered_ms(parts[3], e.entered_ms) || !parse_number(parts[5], e.number)) {
    return std::nullopt;
  }
  const char status = parts[4][0];
  if (std::string_view("wfdcx").find(status) == std::string_view::npos) return std::nullopt;
  e.status = static_cast<EnrollmentStatus>(status);
  if (parts.size() == 8) {
    for (auto item : split(parts[7], ';')) {
      const auto colon = item.rfind(':');
      int arm = 0;
      if (colon == std::string_view::npos || colon == 0 || !parse_number(item.substr(colon + 1), arm)) return std::nullopt;
      e.arms[std::string(item.substr(0, colon))] = arm;
    }
  }
  if (parts.size() >= 7 && !parts[6].empty()) {
    for (auto item : split(parts[6], ';')) {
      const auto colon = item.find(':');
      std::size_t step_index = 0;
      int count = 0;
      if (colon == std::string_view::npos || !parse_number(item.substr(0, colon), step_index) ||
          !parse_number(item.substr(colon + 1), count)) {
        return std::nullopt;
      }
      e.visits[step_index] = count;
    }
  }
  return e;
}

double score_shown(double score) {
  // The tiny nudge keeps a sum like 0.1 + 0.2 (0.30000000000000004) or 0.3 (0.29999999999999999) at 0.3.
  const double tenths = std::trunc(score * 10 + (score >= 0 ? 1e-9 : -1e-9));
  return tenths / 10;
}

}  // namespace nurture::engine
