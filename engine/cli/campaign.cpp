// Commands on a campaign's files, without Redis: validate, preview, graph, schema.

#include <cstdlib>
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

// A required secret's environment variable that is unset where `validate` runs (a CI job, a laptop) is a warning:
// the file is right, and `run` refuses to start until the variable is set. The connector is then checked with a
// stand-in value, in this process only, so every other problem of its settings is still found.
workflows::Diagnostics stand_in_missing_secrets(const workflows::Config& config, const sdk::Registry& registry) {
  workflows::Diagnostics warnings;
  for (const auto& settings : config.connectors) {
    const sdk::ConnectorFactory* factory = registry.find(settings.type);
    if (factory == nullptr) continue;
    for (const auto& key : factory->keys) {
      if (key.type != sdk::ConfigKey::Type::secret_env || !key.required) continue;
      const auto variable = settings.values.find(key.name);
      if (variable == settings.values.end() || variable->second.empty()) continue;
      const char* value = std::getenv(variable->second.c_str());
      if (value != nullptr && *value != '\0') continue;
      const auto at = settings.value_locations.find(key.name);
      warnings.push_back({workflows::Severity::warning, at != settings.value_locations.end() ? at->second : settings.where,
                          fmt::format("environment variable {} ({}.{}) is not set here: `nurture run` will refuse to "
                                      "start until it is",
                                      variable->second, settings.name, key.name),
                          fmt::format("export {} in the daemon's environment", variable->second)});
      ::setenv(variable->second.c_str(), "unset-where-validate-ran", 0);
    }
  }
  return warnings;
}

int validate(const std::string& dir, const std::string& config) {
  auto load = workflows::load_campaign(dir, config);
  sdk::Registry registry;
  connectors::register_builtin_connectors(registry);
  if (load.ok()) {
    const auto secrets = stand_in_missing_secrets(load.campaign.config, registry);
    load.diagnostics.insert(load.diagnostics.end(), secrets.begin(), secrets.end());
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

// The lead a preview renders for: a sample one, `--lead` (a JSON object inline, or a file holding one; `id`,
// `score` and `stage` are taken as such when present), or `--lead-id` (a stored lead, from the campaign's Redis).
struct PreviewLead {
  std::string id = "preview-lead";
  nlohmann::json attrs = {{"email", "ana@example.com"}, {"first_name", "Ana"}};
  double score = 0;
  std::string stage;
};

tl::expected<PreviewLead, CommandError> preview_lead(const std::string& lead, const std::string& lead_id,
                                                     const workflows::Config& config) {
  PreviewLead chosen;
  if (!lead_id.empty()) {
    auto opened = open_cli_store("", config.file.string(), StoreUse::read);
    if (!opened) return tl::unexpected(opened.error());
    engine::LeadSnapshot stored;
    try {
      stored = opened->store->load_lead(lead_id);
    } catch (const engine::StoreUnavailable& e) {
      return stop(3, {e.what()});
    }
    if (stored.version == 0) return stop(1, {fmt::format("no lead \"{}\" in the store", lead_id)});
    return PreviewLead{lead_id, stored.attrs, stored.score, stored.stage};
  }
  if (lead.empty()) return chosen;
  const auto first = lead.find_first_not_of(" \t\r\n");
  const bool inline_json = first != std::string::npos && lead[first] == '{';
  std::string text = lead;
  if (!inline_json) {
    auto read = read_input(lead);
    if (!read) return stop(1, read.error());
    text = std::move(*read);
  }
  nlohmann::json attrs = nlohmann::json::parse(text, nullptr, false);
  if (!attrs.is_object()) {
    return stop(1, {fmt::format("{}: expected a JSON object of lead attributes", inline_json ? "--lead" : lead), {},
                    R"(e.g. --lead '{"first_name": "Zoë", "plan": "pro"}' or --lead lead.json)"});
  }
  if (attrs.contains("id") && attrs["id"].is_string()) chosen.id = attrs["id"].get<std::string>();
  if (attrs.contains("score") && attrs["score"].is_number()) chosen.score = attrs["score"].get<double>();
  if (attrs.contains("stage") && attrs["stage"].is_string()) chosen.stage = attrs["stage"].get<std::string>();
  attrs.erase("id");
  attrs.erase("score");
  attrs.erase("stage");
  chosen.attrs = std::move(attrs);
  return chosen;
}

// `nurture preview DIR TEMPLATE [--lead JSON|FILE | --lead-id L] [--html-out FILE]`: what one lead would get.
int preview(const std::string& dir, const std::string& name, const std::string& lead, const std::string& lead_id,
            std::string html_out, const std::string& config_path) {
  auto load = workflows::load_campaign(dir, config_path);
  if (load.campaign.config.file.empty()) {
    for (const auto& d : load.diagnostics) std::cerr << d.format() << "\n";
    return 1;
  }
  auto chosen = preview_lead(lead, lead_id, load.campaign.config);
  if (!chosen) return say(chosen.error());
  const std::string& lead_name = chosen->id;
  const nlohmann::json& attrs = chosen->attrs;
  const double score = chosen->score;
  const std::string& stage = chosen->stage;

  const workflows::Config& config = load.campaign.config;
  const templates::TrackingLinks links = engine::tracking_links(config);
  const std::string ref = templates::encode_ref({"preview", lead_name, "preview", name});
  templates::TemplateLibrary library(load.campaign.templates_dir);
  for (const auto& problem : library.check_email(name)) std::cerr << problem.format() << "\n";
  auto rendered = library.render_email(
      name, engine::template_variables(config, links.unsubscribe_url(ref), lead_name, attrs, score, stage,
                                       "preview", name, std::chrono::system_clock::now()));
  if (!rendered) {
    std::cerr << rendered.error().format() << "\n";
    return 1;
  }
  const std::string html = templates::add_tracking(rendered->html, links, ref, *rendered->link_hosts);
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

// A connector key's JSON Schema by its declared type. Text keys also take a number or a boolean, since YAML
// readers take an unquoted id (`version: 202405`) for a number and `tls: off` for a boolean (YAML 1.1); none takes
// a list or a map.
nlohmann::ordered_json key_schema(sdk::ConfigKey::Type type) {
  using Type = sdk::ConfigKey::Type;
  switch (type) {
    case Type::integer:
      return {{"type", nlohmann::ordered_json::array({"integer", "string"})}, {"pattern", "^[0-9]+$"}, {"minimum", 0}};
    case Type::url:
      return {{"type", "string"}, {"pattern", "^[A-Za-z][A-Za-z0-9+.-]*://"}};
    case Type::secret_env:
      return {{"type", "string"}, {"pattern", "^[A-Za-z_][A-Za-z0-9_]*$"}};
    case Type::path:
      return {{"type", "string"}, {"minLength", 1}};
    case Type::string:
      break;
  }
  return {{"type", nlohmann::ordered_json::array({"string", "number", "boolean"})}};
}

// nurture.yaml's schema with each connector type's declared keys (`nurture schema` documents
// them): the workflows module knows the config's shape, the registry knows the connectors.
std::string config_schema_with_connectors(const sdk::Registry& registry) {
  nlohmann::ordered_json schema = nlohmann::ordered_json::parse(workflows::config_schema());
  nlohmann::ordered_json types = nlohmann::ordered_json::array();
  nlohmann::ordered_json per_type = nlohmann::ordered_json::array();
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
      nlohmann::ordered_json property = key_schema(key.type);
      property["description"] = key.doc;
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
    std::string dir = ".", name, lead, lead_id, html_out, config;
  };
  auto flags = std::make_shared<Flags>();
  auto* command = app.add_subcommand("preview", "render an email template for a sample lead (subject, text, html)");
  command->add_option("dir", flags->dir, "campaign directory")->required();
  command->add_option("template", flags->name, "template name (templates/NAME.mustache)")->required();
  auto* lead = command->add_option("--lead", flags->lead,
                                   "lead attributes: a JSON object inline or a file holding one (default: a sample lead)");
  command->add_option("--lead-id", flags->lead_id, "render for this stored lead (reads the campaign's Redis)")
      ->excludes(lead);
  command->add_option("--html-out", flags->html_out, "where to write the HTML (default: NAME.preview.html)");
  command->add_option("--config", flags->config, "config file (default DIR/nurture.yaml)");
  return {command, [flags] { return preview(flags->dir, flags->name, flags->lead, flags->lead_id, flags->html_out, flags->config);
          }};
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
  auto* command =
      app.add_subcommand("schema", "print the JSON Schema of the workflow language, of scoring.yaml or of nurture.yaml");
  command->add_option("of", *of, "workflow, scoring or config")
      ->check(CLI::IsMember({"workflow", "scoring", "config"}))
      ->capture_default_str();
  return {command, [of] {
            sdk::Registry registry;
            connectors::register_builtin_connectors(registry);
            std::cout << (*of == "config"    ? config_schema_with_connectors(registry)
                          : *of == "scoring" ? workflows::scoring_schema()
                                             : workflows::workflow_schema())
                      << "\n";
            return 0;
          }};
}

}  // namespace nurture::cli
