#include "text/csv.hpp"

namespace nurture::text {

Expected<std::optional<CsvRecord>> CsvReader::next() {
  if (pos_ >= text_.size()) return std::optional<CsvRecord>{};
  line_ = next_line_;
  CsvRecord record;
  std::string field;
  bool quoted = false;
  bool was_quoted = false;
  while (pos_ < text_.size()) {
    const char c = text_[pos_++];
    if (quoted) {
      if (c == '"') {
        if (pos_ < text_.size() && text_[pos_] == '"') {
          field += '"';
          ++pos_;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++next_line_;
        field += c;
      }
      continue;
    }
    if (c == '"' && field.empty() && !was_quoted) {
      quoted = was_quoted = true;
    } else if (c == ',') {
      record.push_back(std::move(field));
      field.clear();
      was_quoted = false;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && pos_ < text_.size() && text_[pos_] == '\n') ++pos_;
      ++next_line_;
      record.push_back(std::move(field));
      return record;
    } else {
      field += c;
    }
  }
  if (quoted) return fail("a quoted field is not closed", {"", line_, 0}, "close it with a double quote");
  record.push_back(std::move(field));
  return record;
}

std::string csv_field(std::string_view value) {
  std::string text(value);
  if (!text.empty() && std::string_view("=+-@\t\r").find(text.front()) != std::string_view::npos) text.insert(0, "'");
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

}  // namespace nurture::text
