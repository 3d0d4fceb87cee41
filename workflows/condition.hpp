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

#include "nurture/error.hpp"
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
  SourceLocation where;  // the loader checks the name against the stages the campaign sets
};

struct TagTest {
  std::string tag;
};

// `segment: NAME`: the lead is in the segment of segments.yaml named so (its condition holds now).
struct SegmentTest {
  std::string name;
  SourceLocation where;  // the loader checks the name against segments.yaml, and says where
};

// `event: T` with its modifiers: true if the lead's history has such an event.
struct EventTest {
  std::string type;
  std::optional<Duration> within;
  std::string step;  // the event refers to the action sent at this step of this workflow
  SourceLocation step_where;  // the loader checks the step exists in that workflow
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

using ConditionTerm =
    std::variant<AttrTest, ScoreTest, StageTest, TagTest, SegmentTest, EventTest, AllOf, AnyOf, NotOf>;

struct Condition {
  std::vector<ConditionTerm> terms;  // all must hold; none: always true
};

// A named condition of segments.yaml.
struct Segment {
  std::string name;  // [a-z0-9_-]+
  Condition condition;
};

// Calls `visit` for every term of `condition`, those inside all/any/not too (not into segments it names).
template <typename Visit>
void for_each_term(const Condition& condition, Visit&& visit) {
  for (const auto& term : condition.terms) {
    visit(term);
    if (const auto* all = std::get_if<AllOf>(&term)) {
      for (const auto& c : all->items) for_each_term(c, visit);
    } else if (const auto* any = std::get_if<AnyOf>(&term)) {
      for (const auto& c : any->items) for_each_term(c, visit);
    } else if (const auto* negated = std::get_if<NotOf>(&term)) {
      for_each_term(*negated->item, visit);
    }
  }
}

}  // namespace nurture::workflows
