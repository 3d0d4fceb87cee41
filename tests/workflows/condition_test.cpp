#include <regex>

#include <doctest/doctest.h>

#include "workflows/condition.hpp"

using nurture::workflows::Comparison;

namespace {
Comparison matches(const std::string& pattern) {
  Comparison c;
  c.op = Comparison::Op::matches;
  c.value = pattern;
  c.regex = std::make_shared<const std::regex>(pattern, std::regex::ECMAScript);
  return c;
}
}  // namespace

TEST_CASE("a long value tested by `matches` cannot overflow the stack: past the bound it never matches") {
  // std::regex recurses per character: 100,000 of them once overflowed the daemon's stack.
  const Comparison any = matches("(a|b)*c");
  CHECK_FALSE(any.holds(std::string(100000, 'a') + "c"));
  CHECK(any.holds(std::string(nurture::workflows::max_regex_subject_bytes - 1, 'a') + "c"));
  CHECK_FALSE(any.holds(std::string(nurture::workflows::max_regex_subject_bytes, 'a') + "c"));
  CHECK(matches("^ana@").holds("ana@example.com"));
}
