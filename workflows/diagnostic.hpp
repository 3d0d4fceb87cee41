#pragma once
// Diagnostics: what the loaders say about a campaign, each pinned to file:line:col (1-based). A diagnostic is
// the modules' one Error with a severity: the loader reports every problem of a campaign at once, warnings too.

#include <string>
#include <string_view>
#include <vector>

#include "nurture/error.hpp"

namespace nurture::workflows {

using nurture::SourceLocation;

enum class Severity { error, warning };

struct Diagnostic : Error {
  Severity severity = Severity::error;

  Diagnostic() = default;
  Diagnostic(Severity severity, SourceLocation where, std::string message, std::string hint = {})
      : Error{std::move(message), std::move(where), std::move(hint)}, severity(severity) {}
  Diagnostic(Error error, Severity severity = Severity::error) : Error(std::move(error)), severity(severity) {}

  // `file:line:col: error: message (hint)`
  std::string format() const { return Error::format(severity == Severity::error ? "error" : "warning"); }
};

using Diagnostics = std::vector<Diagnostic>;

bool has_errors(const Diagnostics& diagnostics);

// The candidate closest to `word` by edit distance, or "" when none is close enough to be a likely typo.
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace nurture::workflows
