#include "text/csv.hpp"

namespace nurture::text {

std::optional<std::vector<std::string>> CsvReader::next(std::string& error) {
  if (pos_ >= text_.size()) return std::nullopt;
  line_ = next_line_;
  std::vector<std::string> record;
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
  if (quoted) {
    error = "a quoted field is not closed";
    return std::nullopt;
  }
  record.push_back(std::move(field));
  return record;
}

}  // namespace nurture::text
