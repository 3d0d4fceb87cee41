#pragma once
// The one error type of nurture's modules: what went wrong, where (a file, and a line and column when known), and
// the fix when there is one. The campaign loader, the template renderer and the command line all speak it, so
// every message a person reads has one shape: `file:line:col: error: message (fix)`.
//
// Errors are values (tl::expected<T, Error>), never out-parameters; exceptions are for bugs. Header-only and
// installed with the connector SDK: a plugin's create() answers with it too.

#include <string>

#include <tl/expected.hpp>

namespace nurture {

struct SourceLocation {
  std::string file;  // as shown to people: relative to the campaign when it is in one
  int line = 0;      // 1-based; 0 = the whole file
  int column = 0;    // 1-based; 0 = the whole line
};

struct Error {
  std::string message;
  SourceLocation where;  // file empty: not about a file
  std::string hint;      // the fix, e.g. `did you mean "deep_dive"?`

  // `file:line:col: error: message (hint)`; parts that are unknown are left out.
  std::string format(const char* severity = "error") const {
    std::string out = where.file;
    if (!out.empty() && where.line > 0) out += ":" + std::to_string(where.line);
    if (!out.empty() && where.line > 0 && where.column > 0) out += ":" + std::to_string(where.column);
    out += out.empty() ? std::string(severity) + ": " : std::string(": ") + severity + ": ";
    out += message;
    if (!hint.empty()) out += " (" + hint + ")";
    return out;
  }
};

template <typename T>
using Expected = tl::expected<T, Error>;

inline tl::unexpected<Error> fail(std::string message, SourceLocation where = {}, std::string hint = {}) {
  return tl::unexpected(Error{std::move(message), std::move(where), std::move(hint)});
}

}  // namespace nurture
