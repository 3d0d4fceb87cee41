#pragma once
// Internal to workflows/: YAML -> conditions, comparisons and prop filters, shared by workflows and scoring.

#include <optional>
#include <vector>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "workflows/condition.hpp"
#include "workflows/yaml_reader.hpp"

namespace nurture::workflows {

// A YAML scalar as a JSON value: plain `true`/`42`/`~` are typed, quoted text stays a string.
nlohmann::json scalar_value(const YAML::Node& node);
// Any YAML node as JSON (sequences and maps too).
// A YAML value as JSON, within max_value_nodes and max_value_depth (an error at the node past them).
inline constexpr std::size_t max_value_nodes = 10000;
inline constexpr int max_value_depth = 16;
std::optional<nlohmann::json> yaml_to_json(YamlContext& context, const YAML::Node& node);

std::optional<Comparison> parse_comparison(YamlContext& context, const YAML::Node& node, const std::string& what);
std::vector<PropTest> parse_where(YamlContext& context, const YAML::Node& node);
std::optional<Condition> parse_condition(YamlContext& context, const YAML::Node& node);
// [a-z0-9_-]+, at most 64 characters.
bool is_segment_name(const std::string& name);
// `(?i)` in front means case-insensitive (std::regex has no inline flags); nullptr and an error when invalid.
std::shared_ptr<const std::regex> compile_regex(YamlContext& context, const YAML::Node& node,
                                                const std::string& pattern);

}  // namespace nurture::workflows
