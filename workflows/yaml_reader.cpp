#include "workflows/yaml_reader.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <filesystem>

#include <fmt/format.h>

#include <yaml-cpp/depthguard.h>

#include "text/utf8.hpp"

namespace nurture::workflows {

SourceLocation YamlContext::where(const YAML::Node& node) const {
  // A missing key's node (`top["workflow"]` when there is none) is invalid, and asking it for its mark throws.
  if (!node.IsDefined()) return {file_, 1, 1};
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
  // Regular files within a size a campaign file can have: a link to /dev/zero or a FIFO must not hang a reload.
  std::error_code ec;
  const auto size = std::filesystem::is_regular_file(path, ec) ? std::filesystem::file_size(path, ec) : 0;
  std::ifstream in(path, std::ios::binary);
  if (ec || !in || !std::filesystem::is_regular_file(path, ec)) {
    diagnostics.push_back({Severity::error, {shown_name, 0, 0}, "cannot read the file", "check the path"});
    return std::nullopt;
  }
  if (size > max_yaml_file_bytes) {
    diagnostics.push_back({Severity::error, {shown_name, 0, 0},
                           fmt::format("the file is larger than {} bytes", max_yaml_file_bytes),
                           "split it, or check that it is the file you meant"});
    return std::nullopt;
  }
  std::string text(static_cast<std::size_t>(size), '\0');
  in.read(text.data(), static_cast<std::streamsize>(size));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (const std::size_t bad = text::first_invalid_utf8(text); bad != std::string::npos) {
    const int line = 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(bad), '\n'));
    diagnostics.push_back({Severity::error, {shown_name, line, 0}, "the file is not UTF-8 text", "save it as UTF-8"});
    return std::nullopt;
  }
  return parse_yaml_text(text, shown_name, diagnostics);
}

std::optional<YAML::Node> parse_yaml_text(const std::string& text, const std::string& shown_name,
                                          Diagnostics& diagnostics) {
  try {
    return YAML::Load(text);
  } catch (const YAML::DeepRecursion& e) {
    diagnostics.push_back({Severity::error, {shown_name, e.mark.line + 1, e.mark.column + 1},
                           "YAML nests too deep", "a campaign file needs only a few levels"});
    return std::nullopt;
  } catch (const YAML::ParserException& e) {
    diagnostics.push_back({Severity::error,
                           {shown_name, e.mark.line + 1, e.mark.column + 1},
                           fmt::format("YAML syntax: {}", e.msg),
                           "check indentation and quoting around this position"});
    return std::nullopt;
  }
}

}  // namespace nurture::workflows
