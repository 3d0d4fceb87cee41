// scoring.yaml -> Scoring. Optional: a campaign without it has no score rules and no stages.

#include <fmt/format.h>

#include "workflows/campaign.hpp"
#include "workflows/condition_parser.hpp"

namespace nurture::workflows {

namespace {
const std::vector<std::string> comparison_keys = {"eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte",
                                                  "contains", "matches", "exists"};
}

std::optional<std::size_t> Scoring::stage_rank(const std::string& stage) const {
  for (std::size_t i = 0; i < stages.size(); ++i) {
    if (stages[i].name == stage) return i;
  }
  return std::nullopt;
}

tl::expected<Scoring, Diagnostics> load_scoring(const std::filesystem::path& path, const std::string& shown_name) {
  Diagnostics diagnostics;
  auto root = load_yaml_file(path.string(), shown_name, diagnostics);
  if (!root) return tl::unexpected(std::move(diagnostics));
  YamlContext context(shown_name, diagnostics);
  Scoring scoring;
  if (root->IsNull()) return scoring;
  MapReader top(context, *root, "scoring.yaml", {"rules", "decay", "stages"});
  if (!top.ok()) return tl::unexpected(std::move(diagnostics));

  if (top.has("rules")) {
    const YAML::Node rules = top["rules"];
    if (!rules.IsSequence()) context.error(rules, "`rules` must be a list", "e.g. `- { event: email.opened, points: 1 }`");
    for (std::size_t i = 0; rules.IsSequence() && i < rules.size(); ++i) {
      std::vector<std::string> keys = {"event", "where", "attr", "points"};
      keys.insert(keys.end(), comparison_keys.begin(), comparison_keys.end());
      MapReader reader(context, rules[i], fmt::format("rule {}", i + 1), keys);
      if (!reader.ok()) continue;
      ScoreRule rule;
      if (auto points = reader.string("points", true)) {
        try {
          std::size_t used = 0;
          rule.points = std::stod(*points, &used);
          if (used != points->size()) throw std::invalid_argument("points");
        } catch (const std::exception&) {
          context.error(reader["points"], fmt::format("points \"{}\" is not a number", *points), "e.g. 10 or -5");
        }
      }
      rule.event = reader.string("event").value_or("");
      rule.attr = reader.string("attr").value_or("");
      if (rule.attr.rfind("attr.", 0) == 0) rule.attr = rule.attr.substr(5);
      if (rule.event.empty() == rule.attr.empty()) {
        context.error(rules[i], "a rule scores an `event` or an `attr`, one of the two",
                      "e.g. `{ event: email.clicked, points: 3 }`");
      }
      if (reader.has("where")) {
        if (rule.event.empty()) context.error(reader["where"], "`where` goes with `event`", "remove it");
        rule.where = parse_where(context, reader["where"]);
      }
      for (const auto& op : comparison_keys) {
        if (!reader.has(op)) continue;
        if (rule.attr.empty()) {
          context.error(reader[op], fmt::format("`{}` goes with `attr`", op), "e.g. `{ attr: job_title, matches: ... }`");
          continue;
        }
        YAML::Node single;
        single[op] = reader[op];
        rule.test = parse_comparison(context, single, "attr." + rule.attr);
      }
      if (!rule.attr.empty() && !rule.test) rule.test = Comparison{Comparison::Op::exists, true, nullptr};
      rule.name = rule.event.empty() ? "attr:" + rule.attr : "event:" + rule.event;
      reader.finish();
      scoring.rules.push_back(std::move(rule));
    }
  }
  if (top.has("decay")) {
    MapReader decay(context, top["decay"], "`decay`", {"half_life"});
    if (auto text = decay.string("half_life", true)) {
      auto d = parse_duration(*text);
      if (!d || d->count() == 0) context.error(decay["half_life"], fmt::format("\"{}\" is not a duration", *text), "e.g. 30d");
      else scoring.half_life = *d;
    }
    decay.finish();
  }
  if (top.has("stages")) {
    const YAML::Node stages = top["stages"];
    if (!stages.IsMap()) {
      context.error(stages, "`stages` must be a map of name: condition, lowest first", "e.g. `mql: { score: { gte: 50 } }`");
    } else {
      for (const auto& entry : stages) {
        auto condition = parse_condition(context, entry.second);
        if (condition) scoring.stages.push_back({entry.first.as<std::string>(""), std::move(*condition)});
      }
    }
  }
  top.finish();
  if (has_errors(diagnostics)) return tl::unexpected(std::move(diagnostics));
  return scoring;
}

}  // namespace nurture::workflows
