// Conditions are maps; every key is one test and all must hold. `event:` takes its modifiers (within, step,
// where, count) from the same map, since that is how marketers write `{ event: email.clicked, within: 7d }`.

#include "workflows/condition_parser.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace nurture::workflows {

namespace {

const std::vector<std::string> operators = {"eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte",
                                            "contains", "matches", "exists"};
const std::vector<std::string> condition_keys = {"attr.NAME", "score", "stage", "tag", "segment", "event", "within",
                                                 "step", "where", "count", "all", "any", "not"};

Comparison::Op op_named(const std::string& name) {
  static const std::map<std::string, Comparison::Op> ops = {
      {"eq", Comparison::Op::eq},   {"ne", Comparison::Op::ne},   {"in", Comparison::Op::in},
      {"not_in", Comparison::Op::not_in}, {"gt", Comparison::Op::gt}, {"gte", Comparison::Op::gte},
      {"lt", Comparison::Op::lt},   {"lte", Comparison::Op::lte}, {"contains", Comparison::Op::contains},
      {"matches", Comparison::Op::matches}, {"exists", Comparison::Op::exists}};
  return ops.at(name);
}

}  // namespace

nlohmann::json scalar_value(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  if (node.Tag() == "!") return text;  // quoted: a string whatever it looks like
  if (text == "true" || text == "True") return true;
  if (text == "false" || text == "False") return false;
  if (text == "~" || text == "null" || text.empty()) return nullptr;
  auto number = nlohmann::json::parse(text, nullptr, false);
  if (!number.is_discarded() && number.is_number()) return number;
  return text;
}

namespace {
// Copies at most `budget` nodes, `depth` deep. YAML aliases share nodes, so a few lines of `&a [*b, *b, ...]` can
// stand for billions of values ("billion laughs"): counting what is copied bounds the copy, whatever the file.
bool copy_bounded(const YAML::Node& node, nlohmann::json& out, std::size_t& budget, int depth) {
  if (budget == 0 || depth > max_value_depth) return false;
  --budget;
  if (node.IsScalar()) {
    out = scalar_value(node);
  } else if (node.IsSequence()) {
    out = nlohmann::json::array();
    for (const auto& item : node) {
      if (!copy_bounded(item, out.emplace_back(), budget, depth + 1)) return false;
    }
  } else if (node.IsMap()) {
    out = nlohmann::json::object();
    for (const auto& item : node) {
      if (!copy_bounded(item.second, out[item.first.as<std::string>("")], budget, depth + 1)) return false;
    }
  } else {
    out = nullptr;
  }
  return true;
}
}  // namespace

std::optional<nlohmann::json> yaml_to_json(YamlContext& context, const YAML::Node& node) {
  nlohmann::json out;
  std::size_t budget = max_value_nodes;
  if (copy_bounded(node, out, budget, 1)) return out;
  context.error(node, fmt::format("a value of more than {} items or {} levels", max_value_nodes, max_value_depth),
                "list fewer values (a condition's `in:` is meant for short lists)");
  return std::nullopt;
}

namespace {
constexpr std::size_t max_pattern_bytes = 512;

// `(a+)+`, `(a*b)*`, `(x+){2,}`: a quantified group that contains a quantifier is how a backtracking matcher
// (std::regex is one) spends exponential time on a value like "aaaa…!". Values come from leads, so such patterns
// are refused. Escapes and character classes are skipped; lookaheads count as groups.
bool has_nested_quantifier(std::string_view pattern) {
  std::vector<bool> quantified_inside{false};  // per open group: does it contain a quantifier?
  bool closed_group_had_quantifier = false;    // the atom just before this position was such a group
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    const bool quantifier = c == '*' || c == '+' || c == '?' || c == '{';
    if (quantifier && c != '?' && closed_group_had_quantifier) return true;
    closed_group_had_quantifier = false;
    if (c == '\\') {
      ++i;
    } else if (c == '[') {
      while (i + 1 < pattern.size() && pattern[i + 1] != ']') i += pattern[i + 1] == '\\' ? 2 : 1;
      ++i;
    } else if (c == '(') {
      quantified_inside.push_back(false);
    } else if (c == ')' && quantified_inside.size() > 1) {
      closed_group_had_quantifier = quantified_inside.back();
      quantified_inside.pop_back();
      if (closed_group_had_quantifier) quantified_inside.back() = true;
    } else if (quantifier && (c != '?' || (i > 0 && pattern[i - 1] != '('))) {
      quantified_inside.back() = true;
    }
  }
  return false;
}
}  // namespace

std::shared_ptr<const std::regex> compile_regex(YamlContext& context, const YAML::Node& node,
                                                const std::string& pattern) {
  auto flags = std::regex::ECMAScript;
  std::string body = pattern;
  if (body.rfind("(?i)", 0) == 0) {
    flags |= std::regex::icase;
    body = body.substr(4);
  }
  if (body.size() > max_pattern_bytes) {
    context.error(node, fmt::format("a regular expression longer than {} characters", max_pattern_bytes),
                  "match a shorter pattern");
    return nullptr;
  }
  if (has_nested_quantifier(body)) {
    context.error(node, fmt::format("\"{}\" repeats a group that itself repeats: on some values that takes "
                                    "exponential time", pattern),
                  "rewrite it without a quantifier on a group that has one, e.g. `(ab)+` or `[ab]+` for `(a+b)+`");
    return nullptr;
  }
  try {
    return std::make_shared<const std::regex>(body, flags);
  } catch (const std::regex_error& e) {
    context.error(node, fmt::format("\"{}\" is not a valid regular expression: {}", pattern, e.what()),
                  "use ECMAScript syntax; `(?i)` in front makes it case-insensitive");
    return nullptr;
  }
}

std::optional<Comparison> parse_comparison(YamlContext& context, const YAML::Node& node, const std::string& what) {
  Comparison comparison;
  if (node.IsScalar() || node.IsNull()) {
    comparison.value = node.IsNull() ? nlohmann::json(nullptr) : scalar_value(node);
    return comparison;
  }
  if (node.IsSequence()) {
    context.error(node, fmt::format("{}: a list needs an operator", what), "write `{ in: [a, b] }`");
    return std::nullopt;
  }
  if (node.size() != 1) {
    context.error(node, fmt::format("{}: write exactly one operator", what),
                  fmt::format("one of: {}", fmt::join(operators, ", ")));
    return std::nullopt;
  }
  const auto entry = *node.begin();
  const std::string name = entry.first.as<std::string>("");
  if (std::find(operators.begin(), operators.end(), name) == operators.end()) {
    const std::string suggestion = closest_match(name, operators);
    context.error(entry.first, fmt::format("unknown operator \"{}\"", name),
                  suggestion.empty() ? fmt::format("one of: {}", fmt::join(operators, ", "))
                                     : fmt::format("did you mean \"{}\"?", suggestion));
    return std::nullopt;
  }
  comparison.op = op_named(name);
  auto value = yaml_to_json(context, entry.second);
  if (!value) return std::nullopt;
  comparison.value = std::move(*value);
  using Op = Comparison::Op;
  switch (comparison.op) {
    case Op::in:
    case Op::not_in:
      if (!comparison.value.is_array()) {
        context.error(entry.second, fmt::format("`{}` takes a list", name), fmt::format("write `{}: [a, b]`", name));
        return std::nullopt;
      }
      break;
    case Op::gt:
    case Op::gte:
    case Op::lt:
    case Op::lte:
      if (!comparison.value.is_number() && !comparison.value.is_string()) {
        context.error(entry.second, fmt::format("`{}` takes a number (or a date as text)", name), "e.g. `gte: 50`");
        return std::nullopt;
      }
      break;
    case Op::matches:
      if (!comparison.value.is_string()) {
        context.error(entry.second, "`matches` takes a regular expression", "e.g. `matches: \"^/pricing\"`");
        return std::nullopt;
      }
      comparison.regex = compile_regex(context, entry.second, comparison.value.get<std::string>());
      if (!comparison.regex) return std::nullopt;
      break;
    case Op::exists:
      if (!comparison.value.is_boolean()) {
        context.error(entry.second, "`exists` takes true or false", "e.g. `exists: true`");
        return std::nullopt;
      }
      break;
    default:
      break;
  }
  return comparison;
}

std::vector<PropTest> parse_where(YamlContext& context, const YAML::Node& node) {
  std::vector<PropTest> tests;
  if (!node.IsMap()) {
    context.error(node, "`where` must be a map of prop.NAME: value", "e.g. `where: { prop.path: \"/pricing\" }`");
    return tests;
  }
  for (const auto& entry : node) {
    const std::string key = entry.first.as<std::string>("");
    if (key.rfind("prop.", 0) != 0 || key.size() == 5) {
      context.error(entry.first, fmt::format("`where` keys are prop.NAME, not \"{}\"", key),
                    fmt::format("write `prop.{}`", key));
      continue;
    }
    if (auto comparison = parse_comparison(context, entry.second, key)) {
      tests.push_back({key.substr(5), std::move(*comparison)});
    }
  }
  return tests;
}

namespace {

std::optional<std::vector<Condition>> parse_condition_list(YamlContext& context, const YAML::Node& value,
                                                           const std::string& key) {
  if (!value.IsSequence() || value.size() == 0) {
    context.error(value, fmt::format("`{}` takes a list of conditions", key),
                  fmt::format("`{}: [ {{...}}, {{...}} ]`", key));
    return std::nullopt;
  }
  std::vector<Condition> items;
  for (const auto& item : value) {
    auto parsed = parse_condition(context, item);
    if (!parsed) return std::nullopt;
    items.push_back(std::move(*parsed));
  }
  return items;
}

bool is_lead_test(const std::string& key) {
  return (key.rfind("attr.", 0) == 0 && key.size() > 5) || key == "score" || key == "stage" || key == "tag" ||
         key == "all" || key == "any" || key == "not";
}

// A test of the lead (attr.*, score, stage, tag) or a combination of conditions (all, any, not), added to
// `condition`. False when it does not parse; the error is reported.
bool add_lead_test(YamlContext& context, const std::string& key, const YAML::Node& value, Condition& condition) {
  if (key.rfind("attr.", 0) == 0) {
    auto comparison = parse_comparison(context, value, key);
    if (comparison) condition.terms.push_back(AttrTest{key.substr(5), std::move(*comparison)});
    return comparison.has_value();
  }
  if (key == "score") {
    auto comparison = parse_comparison(context, value, key);
    if (comparison) condition.terms.push_back(ScoreTest{std::move(*comparison)});
    return comparison.has_value();
  }
  if (key == "stage" || key == "tag") {
    auto text = context.scalar(value, fmt::format("`{}`", key));
    if (!text) return false;
    if (key == "stage") condition.terms.push_back(StageTest{*text, context.where(value)});
    else condition.terms.push_back(TagTest{*text});
    return true;
  }
  if (key == "all" || key == "any") {
    auto items = parse_condition_list(context, value, key);
    if (!items) return false;
    if (key == "all") condition.terms.push_back(AllOf{std::move(*items)});
    else condition.terms.push_back(AnyOf{std::move(*items)});
    return true;
  }
  auto inner = parse_condition(context, value);  // not
  if (inner) condition.terms.push_back(NotOf{std::make_shared<const Condition>(std::move(*inner))});
  return inner.has_value();
}

bool is_event_key(const std::string& key) {
  return key == "event" || key == "within" || key == "step" || key == "where" || key == "count";
}

// `event:` and what qualifies it (within, step, where, count), into `event`. False when it does not parse.
bool add_event_part(YamlContext& context, const std::string& key, const YAML::Node& value, EventTest& event) {
  if (key == "event") {
    auto text = context.scalar(value, "`event`");
    if (text) event.type = *text;
    return text.has_value();
  }
  if (key == "within") {
    auto text = context.scalar(value, "`within`");
    auto duration = text ? parse_duration(*text) : std::nullopt;
    if (!duration) {
      context.error(value, "`within` must be a duration", "e.g. `within: 7d`");
      return false;
    }
    event.within = *duration;
    return true;
  }
  if (key == "step") {
    auto text = context.scalar(value, "`step`");
    if (text) event.step = *text;
    event.step_where = context.where(value);
    return text.has_value();
  }
  if (key == "where") {
    event.where = parse_where(context, value);
    return true;
  }
  auto comparison = parse_comparison(context, value, "count");
  if (comparison) event.count = std::move(*comparison);
  return comparison.has_value();
}

}  // namespace

bool is_segment_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

std::optional<Condition> parse_condition(YamlContext& context, const YAML::Node& node) {
  if (!node.IsMap() || node.size() == 0) {
    context.error(node, "a condition must be a map of tests", "e.g. `{ attr.plan: pro }` or `{ score: { gte: 50 } }`");
    return std::nullopt;
  }
  Condition condition;
  EventTest event;
  const bool has_event = node["event"].IsDefined();
  bool ok = true;
  for (const auto& entry : node) {
    const std::string key = entry.first.as<std::string>("");
    if (is_lead_test(key)) {
      ok = add_lead_test(context, key, entry.second, condition) && ok;
    } else if (is_event_key(key) && (key == "event" || has_event)) {
      ok = add_event_part(context, key, entry.second, event) && ok;
    } else if (is_event_key(key)) {
      context.error(entry.first, fmt::format("`{}` qualifies an `event:` test", key), "add `event: TYPE` to this map");
      ok = false;
    } else if (key == "segment") {
      const std::string name = entry.second.IsScalar() ? entry.second.as<std::string>("") : "";
      if (!is_segment_name(name)) {
        context.error(entry.second, "`segment` names a segment of segments.yaml",
                      "lower-case letters, digits, `_` and `-`, e.g. `segment: engaged_30d`");
        ok = false;
      } else {
        condition.terms.push_back(SegmentTest{name, context.where(entry.second)});
      }
    } else {
      const std::string suggestion = closest_match(key, condition_keys);
      context.error(entry.first, fmt::format("unknown condition \"{}\"", key),
                    suggestion.empty() ? fmt::format("known: {}", fmt::join(condition_keys, ", "))
                                       : fmt::format("did you mean \"{}\"?", suggestion));
      ok = false;
    }
  }
  if (has_event && !event.type.empty()) condition.terms.push_back(std::move(event));
  if (!ok) return std::nullopt;
  return condition;
}

}  // namespace nurture::workflows
