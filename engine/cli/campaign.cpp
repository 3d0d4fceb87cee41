// Commands on a campaign's files, without Redis: validate, preview, graph, schema.

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "connectors/builtins.hpp"
#include "engine/cli/command.hpp"
#include "engine/runtime/connector_set.hpp"
#include "engine/runtime/dispatcher.hpp"
#include "engine/runtime/post_scheduler.hpp"
#include "templates/template_library.hpp"
#include "text/utf8.hpp"
#include "workflows/campaign.hpp"
#include "workflows/graph.hpp"
#include "workflows/schema.hpp"

namespace nurture::cli {

namespace {

int validate(const std::string& dir, const std::string& config) {
  auto load = workflows::load_campaign(dir, config);
  sdk::Registry registry;
  connectors::register_builtin_connectors(registry);
  if (load.ok()) {
    auto connectors = engine::ConnectorSet::create(load.campaign.config, registry);
    if (!connectors) load.diagnostics.insert(load.diagnostics.end(), connectors.error().begin(), connectors.error().end());
    const auto posts = engine::check_posts(load.campaign, registry);
    load.diagnostics.insert(load.diagnostics.end(), posts.begin(), posts.end());
  }
  for (const auto& d : load.diagnostics) std::cerr << d.format() << "\n";
  if (!load.ok() || workflows::has_errors(load.diagnostics)) return 1;
  std::cout << fmt::format("{}: {} workflow(s) valid\n", dir, load.campaign.workflows.size());
  return 0;
}

// `nurture preview DIR TEMPLATE [--lead FILE.json] [--html-out FILE]`: what one lead would get, without Redis.
// The lead file is a JSON object of attributes (`id`, `score`, `stage` are taken as such when present).
int preview(const std::string& dir, const std::string& name, const std::string& lead_file, std::string html_out,
            const std::string& config_path) {
  auto load = workflows::load_campaign(dir, config_path);
  if (load.campaign.config.file.empty()) {
    for (const auto& d : load.diagnostics) std::cerr << d.format() << "\n";
    return 1;
  }
  nlohmann::json attrs = {{"email", "ana@example.com"}, {"first_name", "Ana"}};
  if (!lead_file.empty()) {
    std::ifstream in(lead_file);
    if (!in) {
      std::cerr << fmt::format("error: cannot read {}\n", lead_file);
      return 1;
    }
    attrs = nlohmann::json::parse(in, nullptr, false);
    if (!attrs.is_object()) {
      std::cerr << fmt::format("error: {}: expected a JSON object of lead attributes\n", lead_file);
      return 1;
    }
  }
  const std::string lead_id = attrs.value("id", std::string("preview-lead"));
  const double score = attrs.value("score", 0.0);
  const std::string stage = attrs.value("stage", std::string());
  attrs.erase("id");
  attrs.erase("score");
  attrs.erase("stage");

  const workflows::Config& config = load.campaign.config;
  const templates::TrackingLinks links = engine::tracking_links(config);
  const std::string ref = templates::encode_ref({"preview", lead_id, "preview", name});
  templates::TemplateLibrary library(load.campaign.templates_dir);
  for (const auto& problem : library.check_email(name)) std::cerr << problem.format() << "\n";
  auto rendered = library.render_email(
      name, engine::template_variables(config, links.unsubscribe_url(ref), lead_id, attrs, score, stage,
                                       "preview", name, std::chrono::system_clock::now()));
  if (!rendered) {
    std::cerr << rendered.error().format() << "\n";
    return 1;
  }
  const std::string html = templates::add_tracking(rendered->html, links, ref, rendered->link_hosts);
  if (html_out.empty()) html_out = name + ".preview.html";
  std::ofstream out(html_out);
  out << html;
  if (!out) {
    std::cerr << fmt::format("error: cannot write {}\n", html_out);
    return 1;
  }
  std::cout << "Subject: " << rendered->subject << "\n";
  if (!rendered->preheader.empty()) std::cout << "Preheader: " << rendered->preheader << "\n";
  std::cout << "\n" << rendered->text;
  if (!rendered->text.empty() && rendered->text.back() != '\n') std::cout << "\n";
  std::cout << fmt::format("\n(html: {} bytes written to {})\n", html.size(), html_out);
  return 0;
}

// nurture.yaml's schema with each connector type's declared keys (`nurture schema` documents
// them): the workflows module knows the config's shape, the registry knows the connectors.
std::string config_schema_with_connectors(const sdk::Registry& registry) {
  nlohmann::ordered_json schema = nlohmann::ordered_json::parse(workflows::config_schema());
  nlohmann::ordered_json types = nlohmann::ordered_json::array();
  nlohmann::ordered_json per_type = nlohmann::ordered_json::array();
  static const char* const key_types[] = {"string", "integer", "string", "string", "string"};
  for (const auto& type : registry.types()) {
    const sdk::ConnectorFactory* factory = registry.find(type);
    types.push_back(type);
    // YAML reads an unquoted `type: null` as null, not as the string.
    const nlohmann::ordered_json is_type =
        type == "null" ? nlohmann::ordered_json{{"enum", {"null", nullptr}}} : nlohmann::ordered_json{{"const", type}};
    nlohmann::ordered_json properties = {{"type", is_type},
                                         {"rate", {{"type", "string"}, {"description", "token bucket: N/s, N/m, N/5m, N/h"}}},
                                         {"concurrency", {{"type", "integer"}, {"minimum", 1}}},
                                         {"max_attempts", {{"type", "integer"}, {"minimum", 1}}}};
    nlohmann::ordered_json required = nlohmann::ordered_json::array({"type"});
    for (const auto& key : factory->keys) {
      const std::string json_type = key_types[static_cast<int>(key.type)];
      nlohmann::ordered_json property = {{"description", key.doc}};
      property["type"] = json_type == "integer" ? nlohmann::ordered_json::array({"integer", "string"})
                                                : nlohmann::ordered_json::array({"string", "number", "boolean"});
      if (!key.default_value.empty()) property["default"] = key.default_value;
      properties[key.name] = property;
      if (key.required) required.push_back(key.name);
    }
    per_type.push_back({{"if", {{"properties", {{"type", is_type}}}}},
                        {"then", {{"description", factory->doc}, {"properties", properties}, {"required", required},
                                  {"additionalProperties", false}}}});
  }
  types.push_back("plugin");
  types.push_back(nullptr);
  per_type.push_back({{"if", {{"properties", {{"type", {{"const", "plugin"}}}}}}},
                      {"then", {{"description", "a connector plugin: path to the shared library, then its own keys"},
                                {"required", {"type", "path"}}}}});
  auto& connector = schema["properties"]["connectors"]["additionalProperties"];
  connector["properties"]["type"] = {{"enum", types}};
  connector["allOf"] = per_type;
  return schema.dump(2);
}

}  // namespace

Command add_validate(CLI::App& app) {
  struct Flags {
    std::string dir = ".";
    std::string config;
  };
  auto flags = std::make_shared<Flags>();
  auto* command = app.add_subcommand("validate", "check workflows, templates and config");
  command->add_option("dir", flags->dir, "campaign directory")->capture_default_str();
  command->add_option("--config", flags->config, "config file (default DIR/nurture.yaml)");
  return {command, [flags] { return validate(flags->dir, flags->config); }};
}

Command add_preview(CLI::App& app) {
  struct Flags {
    std::string dir = ".", name, lead, html_out, config;
  };
  auto flags = std::make_shared<Flags>();
  auto* command = app.add_subcommand("preview", "render an email template for a sample lead (subject, text, html)");
  command->add_option("dir", flags->dir, "campaign directory")->required();
  command->add_option("template", flags->name, "template name (templates/NAME.mustache)")->required();
  command->add_option("--lead", flags->lead, "JSON object of lead attributes (default: a sample lead)");
  command->add_option("--html-out", flags->html_out, "where to write the HTML (default: NAME.preview.html)");
  command->add_option("--config", flags->config, "config file (default DIR/nurture.yaml)");
  return {command, [flags] { return preview(flags->dir, flags->name, flags->lead, flags->html_out, flags->config); }};
}

Command add_graph(CLI::App& app) {
  struct Flags {
    std::string file;
    std::string format = "mermaid";
  };
  auto flags = std::make_shared<Flags>();
  auto* command = app.add_subcommand("graph", "draw a workflow (mermaid or dot)");
  command->add_option("file", flags->file, "workflow file")->required();
  command->add_option("--format", flags->format, "mermaid or dot")
      ->check(CLI::IsMember({"mermaid", "dot"}))
      ->capture_default_str();
  return {command, [flags] {
            // Drawing needs no config: email steps without a connector are drawn with the default one.
            auto workflow = workflows::load_workflow(flags->file, flags->file, "default");
            if (!workflow) {
              for (const auto& d : workflow.error()) std::cerr << d.format() << "\n";
              return 1;
            }
            std::cout << (flags->format == "dot" ? workflows::to_dot(*workflow) : workflows::to_mermaid(*workflow));
            return 0;
          }};
}

Command add_schema(CLI::App& app) {
  auto of = std::make_shared<std::string>("workflow");
  auto* command = app.add_subcommand("schema", "print the JSON Schema of the workflow language or of nurture.yaml");
  command->add_option("of", *of, "workflow or config")
      ->check(CLI::IsMember({"workflow", "config"}))
      ->capture_default_str();
  return {command, [of] {
            sdk::Registry registry;
            connectors::register_builtin_connectors(registry);
            std::cout << (*of == "config" ? config_schema_with_connectors(registry) : workflows::workflow_schema())
                      << "\n";
            return 0;
          }};
}

}  // namespace nurture::cli
