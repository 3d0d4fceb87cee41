// The `nurture` command line. Exit codes: 0 ok, 1 invalid input / failed check, 2 usage,
// 3 cannot reach Redis or a connector.

#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "connectors/builtins.hpp"
#include <unistd.h>

#include "text/utf8.hpp"
#include "engine/runtime/connector_set.hpp"
#include "text/csv.hpp"
#include "engine/cli/daemon.hpp"
#include "engine/runtime/dispatcher.hpp"
#include "engine/core/event.hpp"
#include "engine/runtime/feedback.hpp"
#include "engine/runtime/feedback_recorder.hpp"
#include "engine/runtime/report.hpp"
#include "engine/core/simulation.hpp"
#include "engine/store/redis/redis_store.hpp"
#include "engine/store/store_target.hpp"
#include "workflows/campaign.hpp"
#include "workflows/graph.hpp"
#include "workflows/schema.hpp"

namespace {

using namespace nurture;

int validate(const std::string& dir, const std::string& config) {
  auto load = workflows::load_campaign(dir, config);
  sdk::Registry registry;
  connectors::register_builtin_connectors(registry);
  if (load.ok()) {
    auto connectors = engine::ConnectorSet::create(load.campaign.config, registry);
    if (!connectors) load.diagnostics.insert(load.diagnostics.end(), connectors.error().begin(), connectors.error().end());
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

// `k=v`: the value is JSON when it parses as a JSON scalar (numbers, true/false), else a string.
bool add_pairs(const std::vector<std::string>& pairs, nlohmann::json& into, const char* option) {
  for (const auto& pair : pairs) {
    const auto eq = pair.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::cerr << fmt::format("error: {} takes key=value, got \"{}\"\n", option, pair);
      return false;
    }
    const std::string key = pair.substr(0, eq);
    const std::string value = pair.substr(eq + 1);
    if (!text::is_valid_utf8(pair)) {
      std::cerr << fmt::format("error: {} {}: not UTF-8 text (is the terminal or the file in Latin-1?)\n", option,
                               text::to_valid_utf8(key));
      return false;
    }
    auto parsed = nlohmann::json::parse(value, nullptr, false);
    into[key] = (!parsed.is_discarded() && parsed.is_primitive() && !parsed.is_string()) ? parsed
                                                                                         : nlohmann::json(value);
  }
  return true;
}

struct SimulateOptions {
  std::string dir = ".";
  std::string events;
  std::string start;
  std::string until;
  std::string out;
  std::string format = "jsonl";
};

int simulate(const SimulateOptions& options, const std::string& config) {
  auto load = workflows::load_campaign(options.dir, config);
  for (const auto& d : load.diagnostics) std::cerr << d.format() << "\n";
  if (!load.ok()) return 1;
  std::ifstream in(options.events);
  if (!in) {
    std::cerr << fmt::format("error: cannot read {}\n", options.events);
    return 2;
  }
  std::stringstream text;
  text << in.rdbuf();
  auto events = engine::read_event_lines(text.str(), options.events);
  if (!events) {
    std::cerr << "error: " << events.error() << "\n";
    return 1;
  }
  engine::SimulationOptions sim;
  if (!options.start.empty()) {
    auto start = engine::parse_rfc3339(options.start);
    if (!start) {
      std::cerr << "error: --start: " << start.error() << "\n";
      return 2;
    }
    sim.start = *start;
  }
  if (!options.until.empty()) {
    if (auto duration = workflows::parse_duration(options.until)) {
      const engine::TimePoint base = sim.start ? *sim.start
                                     : events->empty() ? std::chrono::system_clock::now()
                                                       : std::min_element(events->begin(), events->end(),
                                                                          [](const auto& a, const auto& b) {
                                                                            return a.at < b.at;
                                                                          })->at;
      sim.until = base + *duration;
    } else if (auto until = engine::parse_rfc3339(options.until)) {
      sim.until = *until;
    } else {
      std::cerr << "error: --until takes a duration (30d) or an RFC 3339 time\n";
      return 2;
    }
  }
  engine::Simulation simulation(load.campaign);
  const auto timeline = simulation.run(std::move(*events), sim);
  std::string output;
  if (options.format == "table") {
    output = engine::timeline_table(timeline);
  } else {
    for (const auto& entry : timeline) output += engine::timeline_json(entry).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }
  if (options.out.empty()) {
    std::cout << output;
  } else {
    std::ofstream(options.out) << output;
  }
  std::cerr << engine::timeline_summary(timeline);
  return 0;
}

// The store a command-line tool talks to, with the config it came from.
struct CliStore {
  std::unique_ptr<engine::redis::RedisStore> store;
  std::optional<workflows::Config> config;
};

tl::expected<CliStore, int> open_cli_store(const std::string& redis_flag, const std::string& config_path) {
  CliStore opened;
  std::string config_redis = "auto";
  engine::redis::RedisStoreOptions store_options;
  std::filesystem::path config_dir = std::filesystem::current_path();
  const std::filesystem::path config_file = config_path.empty() ? "nurture.yaml" : config_path;
  if (std::filesystem::exists(config_file)) {
    auto config = workflows::load_config(config_file, config_file.string());
    if (!config) {
      for (const auto& d : config.error()) std::cerr << d.format() << "\n";
      return tl::unexpected(1);
    }
    config_redis = config->redis;
    store_options.key_prefix = config->key_prefix;
    store_options.partitions = config->partitions;
    config_dir = config->base_dir;
    opened.config = std::move(*config);
  } else if (!config_path.empty()) {
    std::cerr << fmt::format("error: no config at {}\n", config_path);
    return tl::unexpected(2);
  }
  const engine::StoreTarget target = engine::resolve_store_target(redis_flag, config_redis, config_dir);
  if (target.url.empty()) {
    std::cerr << fmt::format("error: no nurture daemon is running for {} (start `nurture run {}` or pass --redis)\n",
                             config_dir.string(), config_dir.string());
    return tl::unexpected(3);
  }
  auto connection = engine::redis::RedisConnection::open(target.url);
  if (!connection) {
    std::cerr << "error: " << connection.error()
              << (target.embedded ? fmt::format(" (start `nurture run {}` or pass --redis)", config_dir.string())
                                  : "")
              << "\n";
    return tl::unexpected(3);
  }
  opened.store = std::make_unique<engine::redis::RedisStore>(std::move(*connection), store_options);
  return opened;
}

int report(const std::string& workflow, const std::string& format, const std::string& html, const std::string& redis_flag,
           const std::string& config_path) {
  auto opened = open_cli_store(redis_flag, config_path);
  if (!opened) return opened.error();
  if (!opened->config) {
    std::cerr << "error: report needs the campaign's nurture.yaml (run it in the campaign directory or pass --config)\n";
    return 2;
  }
  auto load = workflows::load_campaign(opened->config->base_dir, opened->config->file);
  for (const auto& d : load.diagnostics) {
    if (d.severity == workflows::Severity::error) std::cerr << d.format() << "\n";
  }
  if (!load.ok()) return 1;
  if (!workflow.empty() && !load.campaign.workflow(workflow)) {
    std::cerr << fmt::format("error: no workflow \"{}\" in {}\n", workflow, load.campaign.dir.string());
    return 2;
  }
  std::map<std::string, engine::CounterMap> counters;
  try {
    for (const auto& w : load.campaign.workflows) {
      if (workflow.empty() || w.id == workflow) counters[w.id] = opened->store->workflow_counters(w.id);
    }
  } catch (const engine::StoreUnavailable& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 3;
  }
  auto report = engine::build_report(load.campaign, counters);
  if (!workflow.empty()) {
    std::erase_if(report, [&](const engine::WorkflowReport& r) { return r.workflow != workflow; });
  }
  if (!html.empty()) {
    std::ofstream out(html);
    out << engine::report_html(report, "nurture report: " + load.campaign.dir.filename().string());
    if (!out) {
      std::cerr << fmt::format("error: cannot write {}\n", html);
      return 1;
    }
  }
  std::cout << (format == "json" ? engine::report_json(report).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n" : engine::report_table(report));
  return 0;
}

// The whole of FILE, or of standard input for "" or "-"; nothing (and a message) when it cannot be read.
std::optional<std::string> read_input(const std::string& file) {
  std::stringstream buffer;
  if (file.empty() || file == "-") {
    buffer << std::cin.rdbuf();
    return buffer.str();
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::cerr << fmt::format("error: cannot read {}\n", file);
    return std::nullopt;
  }
  buffer << in.rdbuf();
  return buffer.str();
}

// `nurture dsn [FILE]`: a bounce report (RFC 3464 DSN) or abuse report (RFC 5965 ARF) from a mail server, e.g.
// piped from an alias (`bounces: "|nurture dsn --config /etc/nurture/nurture.yaml"`). Hard bounces and complaints
// suppress the address and reach the lead as email.bounced / email.complained.
int dsn(const std::string& file, const std::string& redis_flag, const std::string& config_path) {
  auto message = read_input(file);
  if (!message) return 1;
  auto reports = engine::parse_report_message(*message);
  if (!reports) {
    std::cerr << "error: " << reports.error().message << "\n";
    return 1;
  }
  auto opened = open_cli_store(redis_flag, config_path);
  if (!opened) return opened.error();
  try {
    const auto outcome = engine::record_feedback(*opened->store, *reports);
    std::cout << fmt::format("{} report(s): {} address(es) suppressed, {} event(s) for leads, {} without a known lead\n",
                             reports->size(), outcome.suppressed, outcome.events, outcome.unmatched);
  } catch (const engine::StoreUnavailable& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 3;
  }
  return 0;
}

// `nurture lead show L`: what the engine knows of one lead, as people read it (or JSON).
int lead_show(const std::string& lead_id, bool as_json, const std::string& redis_flag, const std::string& config_path) {
  auto opened = open_cli_store(redis_flag, config_path);
  if (!opened) return opened.error();
  engine::LeadSnapshot lead;
  try {
    lead = opened->store->load_lead(lead_id);
  } catch (const engine::StoreUnavailable& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 3;
  }
  if (lead.version == 0) {
    std::cerr << fmt::format("error: no lead \"{}\"\n", lead_id);
    return 1;
  }
  const nlohmann::ordered_json out = engine::lead_profile_json(lead, *opened->store);
  if (as_json) {
    std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return 0;
  }
  std::cout << fmt::format("lead {}  score {}  stage {}\n", lead.id, std::lround(lead.score),
                           lead.stage.empty() ? "-" : lead.stage);
  for (const auto& [name, value] : lead.attrs.items()) std::cout << fmt::format("  {} = {}\n", name, value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  if (!lead.tags.empty()) std::cout << fmt::format("  tags: {}\n", fmt::join(lead.tags, ", "));
  if (!lead.suppressed.empty()) std::cout << fmt::format("  suppressed on: {}\n", fmt::join(lead.suppressed, ", "));
  for (const auto& e : out["enrollments"]) {
    std::cout << fmt::format("  {} (version {}, enrollment {}): {} at {}, entered {}\n", e["workflow"].get<std::string>(),
                             e["version"].get<int>(), e["number"].get<int>(), e["status"].get<std::string>(),
                             e["step"].get<std::string>(), e["entered"].get<std::string>());
  }
  for (const auto& h : out["history"]) {
    std::cout << fmt::format("  {} {}{}\n", h["at"].get<std::string>(), h["type"].get<std::string>(),
                             h["step"].get<std::string>().empty() ? "" : " (" + h["workflow"].get<std::string>() + "/" + h["step"].get<std::string>() + ")");
  }
  return 0;
}

// `nurture import FILE.csv`: one `lead.imported` event per row (header row = attribute names), added in pipelined
// chunks; a progress bar on a TTY. Values are strings, as a CSV has no types.
int import_csv(const std::string& file, const std::string& id_column, const std::string& redis_flag,
               const std::string& config_path) {
  const auto input = read_input(file);
  if (!input) return 2;
  std::string_view content = *input;
  if (content.rfind("\xef\xbb\xbf", 0) == 0) content.remove_prefix(3);  // a UTF-8 byte order mark
  if (const std::size_t bad = text::first_invalid_utf8(content); bad != std::string_view::npos) {
    const auto line = 1 + std::count(content.begin(), content.begin() + static_cast<long>(bad), '\n');
    std::cerr << fmt::format("{}:{}: error: the file is not UTF-8 text (save it as UTF-8; byte {} is 0x{:02x})\n",
                             file, line, bad + 1, static_cast<unsigned char>(content[bad]));
    return 1;
  }
  const std::string text(content);
  text::CsvReader reader(text);
  std::string error;
  auto header = reader.next(error);
  if (!header) {
    std::cerr << fmt::format("{}:1: error: {}\n", file, error.empty() ? "the file is empty (it needs a header row)" : error);
    return 1;
  }
  const auto id_at = std::find(header->begin(), header->end(), id_column);
  if (id_at == header->end()) {
    std::cerr << fmt::format("{}:1: error: no column \"{}\" for the lead id (columns: {}; pass --id-column)\n", file,
                             id_column, fmt::join(*header, ", "));
    return 1;
  }
  const std::size_t id_index = static_cast<std::size_t>(id_at - header->begin());
  std::vector<engine::StreamFields> events;
  while (auto row = reader.next(error)) {
    if (row->size() == 1 && row->front().empty()) continue;  // a blank line
    if (row->size() != header->size()) {
      std::cerr << fmt::format("{}:{}: error: {} fields, the header has {}\n", file, reader.line(), row->size(),
                               header->size());
      return 1;
    }
    engine::Event event;
    event.type = "lead.imported";
    event.lead = (*row)[id_index];
    event.at = std::chrono::system_clock::now();
    for (std::size_t i = 0; i < row->size(); ++i) {
      if (i != id_index && !(*row)[i].empty()) event.attrs[(*header)[i]] = (*row)[i];
    }
    auto fields = engine::to_stream_fields(event);
    if (auto check = engine::parse_event(fields, "0-0"); !check) {
      std::cerr << fmt::format("{}:{}: error: {}\n", file, reader.line(), check.error());
      return 1;
    }
    events.push_back(std::move(fields));
  }
  if (!error.empty()) {
    std::cerr << fmt::format("{}:{}: error: {}\n", file, reader.line(), error);
    return 1;
  }
  auto opened = open_cli_store(redis_flag, config_path);
  if (!opened) return opened.error();
  const bool tty = ::isatty(STDERR_FILENO);
  try {
    constexpr std::size_t chunk = 1000;
    for (std::size_t start = 0; start < events.size(); start += chunk) {
      const std::size_t end = std::min(events.size(), start + chunk);
      opened->store->add_events({events.begin() + static_cast<long>(start), events.begin() + static_cast<long>(end)});
      if (tty) {
        const int done = static_cast<int>(40 * end / events.size());
        std::cerr << fmt::format("\r[{}{}] {}/{}", std::string(done, '#'), std::string(40 - done, ' '), end,
                                 events.size());
      }
    }
  } catch (const engine::StoreUnavailable& e) {
    std::cerr << "\nerror: " << e.what() << "\n";
    return 3;
  }
  if (tty) std::cerr << "\n";
  std::cout << fmt::format("{} lead(s) imported from {}\n", events.size(), file);
  return 0;
}

struct EmitOptions {
  std::string type;
  std::string lead;
  std::vector<std::string> attrs;
  std::vector<std::string> props;
  std::string at;
  std::string id;
};

int emit(const EmitOptions& options, const std::string& redis_flag, const std::string& config_path) {
  engine::Event event;
  event.type = options.type;
  event.lead = options.lead;
  if (!add_pairs(options.attrs, event.attrs, "--attr") || !add_pairs(options.props, event.props, "--prop")) return 2;
  event.at = std::chrono::system_clock::now();
  if (!options.at.empty()) {
    auto at = engine::parse_rfc3339(options.at);
    if (!at) {
      std::cerr << "error: " << at.error() << "\n";
      return 2;
    }
    event.at = *at;
  }
  event.id = options.id;
  engine::StreamFields fields = engine::to_stream_fields(event);
  if (auto check = engine::parse_event(fields, "0-0"); !check) {
    std::cerr << "error: " << check.error() << "\n";
    return 2;
  }

  auto opened = open_cli_store(redis_flag, config_path);
  if (!opened) return opened.error();
  engine::redis::RedisStore& store = *opened->store;
  try {
    store.add_event(fields);
  } catch (const engine::StoreUnavailable& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 3;
  }
  return 0;
}

// --config and --redis: every command that reads or writes the store takes both.
void add_store_options(CLI::App* command, std::string& config_path, std::string& redis_flag) {
  command->add_option("--config", config_path, "config file (default ./nurture.yaml)");
  command->add_option("--redis", redis_flag, "redis://host:port/db or unix:///path");
}

}  // namespace

int main(int argc, char** argv) {
  // A Redis or HTTP peer that goes away is an error reply to report, not a silent death by SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  // Logs go to stderr: stdout carries what commands print (timelines, reports, previews) and must stay clean.
  spdlog::set_default_logger(spdlog::stderr_color_mt("nurture"));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  CLI::App app{"nurture: a marketing automation campaign engine"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "nurture 0.1.0");
  std::string redis_flag;
  std::string config_path;

  auto* run = app.add_subcommand("run", "the daemon: ingest, timers, dispatch");
  engine::DaemonOptions daemon;
  std::string dir = ".";
  run->add_option("dir", dir, "campaign directory")->capture_default_str();
  run->add_option("--config", config_path, "config file (default DIR/nurture.yaml)");
  run->add_option("--redis", redis_flag, "redis://host:port/db or unix:///path (default: config `redis:`)");
  run->add_option("--consumer", daemon.consumer, "consumer name in the groups (default: hostname)");
  std::string lease = "60s";
  run->add_option("--lease", lease, "take over what another engine left unacknowledged this long (e.g. 30s)")
      ->capture_default_str();
  std::string redis_timeout = "10s";
  run->add_option("--redis-timeout", redis_timeout, "a Redis command unanswered this long fails and is retried")
      ->capture_default_str();

  auto* validate_cmd = app.add_subcommand("validate", "check workflows, templates and config");
  validate_cmd->add_option("dir", dir, "campaign directory")->capture_default_str();
  validate_cmd->add_option("--config", config_path, "config file (default DIR/nurture.yaml)");

  auto* simulate_cmd = app.add_subcommand("simulate", "run the campaign on a virtual clock against events from a file");
  SimulateOptions simulate_options;
  simulate_cmd->add_option("dir", simulate_options.dir, "campaign directory")->capture_default_str();
  simulate_cmd->add_option("--events", simulate_options.events, "JSON Lines events, `at` required")->required();
  simulate_cmd->add_option("--start", simulate_options.start, "start of the clock (default: the first event)");
  simulate_cmd->add_option("--until", simulate_options.until, "a duration after start, or a time");
  simulate_cmd->add_option("--out", simulate_options.out, "write the timeline here instead of stdout");
  simulate_cmd->add_option("--format", simulate_options.format, "jsonl or table")
      ->check(CLI::IsMember({"jsonl", "table"}))
      ->capture_default_str();
  simulate_cmd->add_option("--config", config_path, "config file (default DIR/nurture.yaml)");

  auto* preview_cmd = app.add_subcommand("preview", "render an email template for a sample lead (subject, text, html)");
  std::string preview_dir = ".", preview_template, preview_lead, preview_html_out;
  preview_cmd->add_option("dir", preview_dir, "campaign directory")->required();
  preview_cmd->add_option("template", preview_template, "template name (templates/NAME.mustache)")->required();
  preview_cmd->add_option("--lead", preview_lead, "JSON object of lead attributes (default: a sample lead)");
  preview_cmd->add_option("--html-out", preview_html_out, "where to write the HTML (default: NAME.preview.html)");
  preview_cmd->add_option("--config", config_path, "config file (default DIR/nurture.yaml)");

  auto* dsn_cmd = app.add_subcommand("dsn", "read a bounce (RFC 3464) or abuse (RFC 5965) report: suppress, tell the lead");
  std::string dsn_file;
  dsn_cmd->add_option("file", dsn_file, "the report message (default: standard input)");
  add_store_options(dsn_cmd, config_path, redis_flag);

  auto* report_cmd = app.add_subcommand("report", "funnel per workflow and step: entered, sent, opened, clicked, goals");
  std::string report_workflow;
  std::string report_format = "table";
  report_cmd->add_option("--workflow", report_workflow, "only this workflow");
  report_cmd->add_option("--format", report_format, "table or json")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  std::string report_html_file;
  report_cmd->add_option("--html", report_html_file, "also write the report as an HTML page");
  add_store_options(report_cmd, config_path, redis_flag);

  auto* import_cmd = app.add_subcommand("import", "upsert leads from a CSV file (header row = attribute names)");
  std::string import_file;
  std::string id_column = "id";
  import_cmd->add_option("file", import_file, "the CSV file")->required();
  import_cmd->add_option("--id-column", id_column, "the column holding the lead id")->capture_default_str();
  add_store_options(import_cmd, config_path, redis_flag);

  auto* lead_cmd = app.add_subcommand("lead", "one lead");
  auto* lead_show_cmd = lead_cmd->add_subcommand("show", "the lead's profile, score, stage, enrollments and history");
  lead_cmd->require_subcommand(1);
  std::string lead_id;
  bool lead_json = false;
  lead_show_cmd->add_option("lead", lead_id, "lead id")->required();
  lead_show_cmd->add_flag("--json", lead_json, "print JSON");
  add_store_options(lead_show_cmd, config_path, redis_flag);

  auto* graph_cmd = app.add_subcommand("graph", "draw a workflow (mermaid or dot)");
  std::string graph_file;
  std::string graph_format = "mermaid";
  graph_cmd->add_option("file", graph_file, "workflow file")->required();
  graph_cmd->add_option("--format", graph_format, "mermaid or dot")
      ->check(CLI::IsMember({"mermaid", "dot"}))
      ->capture_default_str();

  auto* schema_cmd = app.add_subcommand("schema", "print the JSON Schema of the workflow language or of nurture.yaml");
  std::string schema_of = "workflow";
  schema_cmd->add_option("of", schema_of, "workflow or config")
      ->check(CLI::IsMember({"workflow", "config"}))
      ->capture_default_str();

  auto* emit_cmd = app.add_subcommand("emit", "add one event to the stream");
  EmitOptions emit_options;
  emit_cmd->add_option("type", emit_options.type, "event type, e.g. lead.created")->required();
  emit_cmd->add_option("--lead", emit_options.lead, "lead id")->required();
  emit_cmd->add_option("--attr", emit_options.attrs, "attribute update key=value (repeatable)");
  emit_cmd->add_option("--prop", emit_options.props, "event property key=value (repeatable)");
  emit_cmd->add_option("--at", emit_options.at, "when it happened (RFC 3339; default now)");
  emit_cmd->add_option("--id", emit_options.id, "producer idempotency key");
  add_store_options(emit_cmd, config_path, redis_flag);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  if (*run) {
    sdk::Registry registry;
    connectors::register_builtin_connectors(registry);
    daemon.dir = dir;
    daemon.config = config_path;
    daemon.redis = redis_flag;
    auto lease_duration = workflows::parse_duration(lease);
    if (!lease_duration || lease_duration->count() == 0) {
      std::cerr << "error: --lease takes a duration such as 30s\n";
      return 2;
    }
    daemon.lease = *lease_duration;
    auto timeout = workflows::parse_duration(redis_timeout);
    if (!timeout || timeout->count() == 0) {
      std::cerr << "error: --redis-timeout takes a duration such as 10s\n";
      return 2;
    }
    daemon.redis_timeout = *timeout;
    return engine::run_daemon(daemon, registry);
  }
  if (*validate_cmd) return validate(dir, config_path);
  if (*emit_cmd) return emit(emit_options, redis_flag, config_path);
  if (*simulate_cmd) return simulate(simulate_options, config_path);
  if (*dsn_cmd) return dsn(dsn_file, redis_flag, config_path);
  if (*preview_cmd) return preview(preview_dir, preview_template, preview_lead, preview_html_out, config_path);
  if (*import_cmd) return import_csv(import_file, id_column, redis_flag, config_path);
  if (*report_cmd) return report(report_workflow, report_format, report_html_file, redis_flag, config_path);
  if (*lead_show_cmd) return lead_show(lead_id, lead_json, redis_flag, config_path);
  if (*graph_cmd) {
    // Drawing needs no config: email steps without a connector are drawn with the default one.
    auto workflow = workflows::load_workflow(graph_file, graph_file, "default");
    if (!workflow) {
      for (const auto& d : workflow.error()) std::cerr << d.format() << "\n";
      return 1;
    }
    std::cout << (graph_format == "dot" ? workflows::to_dot(*workflow) : workflows::to_mermaid(*workflow));
    return 0;
  }
  if (*schema_cmd) {
    sdk::Registry registry;
    connectors::register_builtin_connectors(registry);
    std::cout << (schema_of == "config" ? config_schema_with_connectors(registry) : workflows::workflow_schema()) << "\n";
    return 0;
  }
  return 2;
}
