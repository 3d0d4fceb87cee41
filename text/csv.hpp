#pragma once
// RFC 4180 CSV: fields separated by commas, optionally in double quotes (with "" for a quote), records by CRLF or
// LF; a quoted field may span lines. For `nurture import`, and the exports.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nurture/error.hpp"

namespace nurture::text {

using CsvRecord = std::vector<std::string>;

class CsvReader {
 public:
  explicit CsvReader(std::string_view text) : text_(text) {}
  // The next record, nullopt at the end, or an error at the record's line (an unterminated quote). The error names
  // no file: the reader has only text.
  Expected<std::optional<CsvRecord>> next();
  int line() const { return line_; }  // 1-based line where the last record started

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
  int line_ = 0;
  int next_line_ = 1;
};

// One field as written: quoted when it holds a comma, quote or line break. A field that a spreadsheet would take
// for a formula (it starts with =, +, -, @, a tab or CR; lead data is anybody's input) gets a leading `'`.
std::string csv_field(std::string_view value);

}  // namespace nurture::text
