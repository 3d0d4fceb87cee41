// Runs the Mustache spec behaviour written as data in mustache_spec/*.yml through render_mustache.
#include <doctest/doctest.h>

#include <filesystem>
#include <map>
#include <string>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "templates/mustache.hpp"

namespace {

nlohmann::json to_json(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      nlohmann::json object = nlohmann::json::object();
      for (const auto& entry : node) object[entry.first.as<std::string>()] = to_json(entry.second);
      return object;
    }
    case YAML::NodeType::Sequence: {
      nlohmann::json list = nlohmann::json::array();
      for (const auto& item : node) list.push_back(to_json(item));
      return list;
    }
    case YAML::NodeType::Scalar: {
      if (node.Tag() == "!") return node.Scalar();  // quoted: always a string
      const std::string& text = node.Scalar();
      if (text == "true") return true;
      if (text == "false") return false;
      if (text == "null" || text == "~") return nullptr;
      try {
        std::size_t used = 0;
        long long integer = std::stoll(text, &used);
        if (used == text.size()) return integer;
        double decimal = std::stod(text, &used);
        if (used == text.size()) return decimal;
      } catch (const std::exception&) {
      }
      return text;
    }
    default:
      return nullptr;
  }
}

void run_spec_file(const std::string& file) {
  const auto path = std::filesystem::path(NURTURE_SOURCE_DIR) / "tests/templates/mustache_spec" / file;
  const YAML::Node cases = YAML::LoadFile(path.string());
  REQUIRE(cases.IsSequence());
  REQUIRE(cases.size() > 5);
  for (const auto& spec_case : cases) {
    const std::string name = spec_case["name"].as<std::string>();
    std::map<std::string, std::string> partials;
    if (spec_case["partials"]) {
      for (const auto& entry : spec_case["partials"]) partials[entry.first.as<std::string>()] = entry.second.as<std::string>();
    }
    auto rendered = nurture::templates::render_mustache(spec_case["template"].as<std::string>(),
                                                        to_json(spec_case["data"]), partials);
    INFO(file, ": ", name);
    REQUIRE(rendered.has_value());
    CHECK(*rendered == spec_case["expected"].as<std::string>());
  }
}

}  // namespace

TEST_CASE("mustache spec: interpolation") { run_spec_file("interpolation.yml"); }
TEST_CASE("mustache spec: sections") { run_spec_file("sections.yml"); }
TEST_CASE("mustache spec: inverted sections") { run_spec_file("inverted.yml"); }
TEST_CASE("mustache spec: comments") { run_spec_file("comments.yml"); }
TEST_CASE("mustache spec: set delimiters") { run_spec_file("delimiters.yml"); }
TEST_CASE("mustache spec: partials") { run_spec_file("partials.yml"); }

TEST_CASE("an unclosed section is an error value, not an exception") {
  auto rendered = nurture::templates::render_mustache("{{#open}}never closed", nlohmann::json::object());
  REQUIRE_FALSE(rendered.has_value());
  CHECK(rendered.error().find("open") != std::string::npos);
}
