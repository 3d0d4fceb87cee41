#pragma once
// Internal to workflows/: strict reading of YAML maps. Every key is declared up front; an undeclared key is an
// error with a "did you mean" hint. No YAML::Node leaves this module.

#include <optional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "workflows/diagnostic.hpp"

namespace nurture::workflows {

class YamlContext {
 public:
  YamlContext(std::string file, Diagnostics& diagnostics) : file_(std::move(file)), diagnostics_(diagnostics) {}

  SourceLocation where(const YAML::Node& node) const;
  void error(const YAML::Node& node, std::string message, std::string hint = {});
  void warning(const YAML::Node& node, std::string message, std::string hint = {});
  const std::string& file() const { return file_; }
  Diagnostics& diagnostics() { return diagnostics_; }

  // A scalar as string; an error (and nullopt) when the node is not a scalar.
  std::optional<std::string> scalar(const YAML::Node& node, std::string_view what);

 private:
  std::string file_;
  Diagnostics& diagnostics_;
};

class MapReader {
 public:
  MapReader(YamlContext& context, const YAML::Node& node, std::string what, std::vector<std::string> allowed_keys);

  bool ok() const { return is_map_; }
  bool has(const std::string& key) const;
  YAML::Node operator[](const std::string& key) const;
  std::optional<std::string> string(const std::string& key, bool required = false);
  // Reports undeclared keys. Call once, after reading.
  void finish();

 private:
  YamlContext& context_;
  YAML::Node node_;
  std::string what_;
  std::vector<std::string> allowed_;
  bool is_map_ = false;
};

// Parses YAML text; a parse error becomes a diagnostic with its position.
std::optional<YAML::Node> parse_yaml_text(const std::string& text, const std::string& shown_name,
                                          Diagnostics& diagnostics);
inline constexpr std::uintmax_t max_yaml_file_bytes = 1 << 20;
// Opens and parses a YAML file; a parse error becomes a diagnostic with its position.
std::optional<YAML::Node> load_yaml_file(const std::string& path, const std::string& shown_name,
                                         Diagnostics& diagnostics);

}  // namespace nurture::workflows
