#pragma once
// The condition language: a map whose keys all must hold. Immutable once loaded;
// the engine evaluates it against a lead snapshot.

#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "workflows/duration.hpp"

namespace nurture::workflows {

inline constexpr std::size_t max_regex_subject_bytes = 1024;

struct Comparison {
  enum class Op { eq, ne, in, not_in, gt, gte, lt, lte, contains, matches, exists };
  Op op = Op::eq;
  nlohmann::json value;
  std::shared_ptr<const std::regex> regex;  // Op::matches; values longer than max_regex_subject_bytes never match

  // Does `actual` (null when absent) satisfy it?
  bool holds(const nlohmann::json& actual) const;
};

struct AttrTest {
  std::string name;  // without `attr.`
  Comparison comparison;
};

struct PropTest {
  std::string name;  // without `prop.`
  Comparison comparison;
};

struct ScoreTest {
  Comparison comparison;
};

struct StageTest {
  std::string stage;
};

struct TagTest {
  std::string tag;
};

// `event: T` with its modifiers: true if the lead's history has such an event.
struct EventTest {
  std::string type;
  std::optional<Duration> within;
  std::string step;  // the event refers to the action sent at this step of this workflow
  std::vector<PropTest> where;
  std::optional<Comparison> count;  // without it: at least one
};

struct Condition;

struct AllOf {
  std::vector<Condition> items;
};
struct AnyOf {
  std::vector<Condition> items;
};
struct NotOf {
  std::shared_ptr<const Condition> item;
};

using ConditionTerm = std::variant<AttrTest, ScoreTest, StageTest, TagTest, EventTest, AllOf, AnyOf, NotOf>;

struct Condition {
  std::vector<ConditionTerm> terms;  // all must hold; none: always true
};

}  // namespace nurture::workflows
