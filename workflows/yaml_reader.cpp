#include "workflows/yaml_reader.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace nurture::workflows {

SourceLocation YamlContext::where(const YAML::Node& node) const {
  const YAML::Mark mark = node.Mark();
  if (mark.is_null()) return {file_, 0, 0};
  return {file_, mark.line + 1, mark.column + 1};
}

void YamlContext::error(const YAML::Node& node, std::string message, std::string hint) {
  diagnostics_.push_back({Severity::error, where(node), std::move(message), std::move(hint)});
}

void YamlContext::warning(const YAML::Node& node, std::string message, std::string hint) {
  diagnostics_.push_back({Severity::warning, where(node), std::move(message), std::move(hint)});
}

std::optional<std::string> YamlContext::scalar(const YAML::Node& node, std::string_view what) {
  if (!node.IsScalar()) {
    error(node, fmt::format("{} must be a single value", what), "write it as `key: value`");
    return std::nullopt;
  }
  return node.Scalar();
}

MapReader::MapReader(YamlContext& context, const YAML::Node& node, std::string what,
                     std::vector<std::string> allowed_keys)
    : context_(context), node_(node), what_(std::move(what)), allowed_(std::move(allowed_keys)) {
  is_map_ = node.IsMap();
  if (!is_map_) context_.error(node, fmt::format("{} must be a map of keys", what_));
}

bool MapReader::has(const std::string& key) const { return is_map_ && node_[key].IsDefined(); }

YAML::Node MapReader::operator[](const std::string& key) const {
  if (!is_map_) return YAML::Node(YAML::NodeType::Undefined);
  return node_[key];
}

std::optional<std::string> MapReader::string(const std::string& key, bool required) {
  if (!has(key)) {
    if (required && is_map_) {
      context_.error(node_, fmt::format("{} needs `{}`", what_, key), fmt::format("add `{}: ...`", key));
    }
    return std::nullopt;
  }
  return context_.scalar(node_[key], fmt::format("`{}`", key));
}

void MapReader::finish() {
  if (!is_map_) return;
  for (const auto& entry : node_) {
    const std::string key = entry.first.as<std::string>("");
    if (std::find(allowed_.begin(), allowed_.end(), key) != allowed_.end()) continue;
    const std::string suggestion = closest_match(key, allowed_);
    std::string hint = suggestion.empty() ? fmt::format("known keys: {}", fmt::join(allowed_, ", "))
                                          : fmt::format("did you mean \"{}\"?", suggestion);
    context_.error(entry.first, fmt::format("unknown key \"{}\" in {}", key, what_), std::move(hint));
  }
}

std::optional<YAML::Node> load_yaml_file(const std::string& path, const std::string& shown_name,
                                         Diagnostics& diagnostics) {
  std::ifstream in(path);
  if (!in) {
    diagnostics.push_back({Severity::error, {shown_name, 0, 0}, "cannot read the file", "check the path"});
    return std::nullopt;
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse_yaml_text(buffer.str(), shown_name, diagnostics);
}

std::optional<YAML::Node> parse_yaml_text(const std::string& text, const std::string& shown_name,
                                          Diagnostics& diagnostics) {
  try {
    return YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    diagnostics.push_back({Severity::error,
                           {shown_name, e.mark.line + 1, e.mark.column + 1},
                           fmt::format("YAML syntax: {}", e.msg),
                           "check indentation and quoting around this position"});
    return std::nullopt;
  }
}

}  // namespace nurture::workflows
