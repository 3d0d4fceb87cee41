#pragma once
// Diagnostics: what the loaders say about a campaign, each pinned to file:line:col (1-based).

#include <string>
#include <string_view>
#include <vector>

namespace nurture::workflows {

struct SourceLocation {
  std::string file;
  int line = 0;    // 1-based; 0 = the whole file
  int column = 0;  // 1-based
};

enum class Severity { error, warning };

struct Diagnostic {
  Severity severity = Severity::error;
  SourceLocation where;
  std::string message;
  std::string hint;  // the fix, e.g. `did you mean "deep_dive"?`

  // `file:line:col: error: message (hint)`
  std::string format() const;
};

using Diagnostics = std::vector<Diagnostic>;

bool has_errors(const Diagnostics& diagnostics);

// The candidate closest to `word` by edit distance, or "" when none is close enough to be a likely typo.
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace nurture::workflows
