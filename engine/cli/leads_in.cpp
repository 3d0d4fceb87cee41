// Commands that bring leads and events in: emit (one event), import (a CSV file).

#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/cli/command.hpp"
#include "engine/core/event.hpp"
#include "text/csv.hpp"
#include "text/utf8.hpp"
#include "workflows/attributes.hpp"

namespace nurture::cli {

namespace {

// `k=v`: typed as nurture.yaml's `attributes:` declares `k`, else a JSON number or true/false when it reads as one,
// else text (workflows/attributes.hpp).
bool add_pairs(const std::vector<std::string>& pairs, const workflows::AttributeTypes& declared, nlohmann::json& into,
               const char* option) {
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
    auto typed = workflows::attribute_from_text(declared, key, value);
    if (!typed) {
      std::cerr << fmt::format("error: {} {}\n", option, typed.error());
      return false;
    }
    into[key] = std::move(*typed);
  }
  return true;
}

const workflows::AttributeTypes& declared_attributes(const CliStore& opened) {
  static const workflows::AttributeTypes none;
  return opened.config ? opened.config->attributes : none;
}

// One CSV row as a `lead.imported` event, or why not (the caller says where).
tl::expected<engine::StreamFields, std::string> row_event(const text::CsvRecord& columns, const text::CsvRecord& record,
                                                          std::size_t id_index,
                                                          const workflows::AttributeTypes& declared) {
  if (record.size() != columns.size()) {
    return tl::unexpected(fmt::format("{} fields, the header has {}", record.size(), columns.size()));
  }
  engine::Event event;
  event.type = "lead.imported";
  event.lead = record[id_index];
  event.at = std::chrono::system_clock::now();
  for (std::size_t i = 0; i < record.size(); ++i) {
    if (i == id_index || record[i].empty()) continue;
    auto typed = workflows::attribute_from_text(declared, columns[i], record[i]);
    if (!typed) return tl::unexpected(fmt::format("column {}: {}", columns[i], typed.error()));
    event.attrs[columns[i]] = std::move(*typed);
  }
  auto fields = engine::to_stream_fields(event);
  if (auto check = engine::parse_event(fields, "0-0"); !check) return tl::unexpected(check.error());
  return fields;
}

struct ImportOptions {
  std::string file;
  std::string id_column = "id";
  bool strict = false;
};

// Adds the events in pipelined chunks; a progress bar on a TTY.
void add_in_chunks(engine::redis::RedisStore& store, const std::vector<engine::StreamFields>& events) {
  const bool tty = ::isatty(STDERR_FILENO);
  constexpr std::size_t chunk = 1000;
  for (std::size_t start = 0; start < events.size(); start += chunk) {
    const std::size_t end = std::min(events.size(), start + chunk);
    store.add_events({events.begin() + static_cast<long>(start), events.begin() + static_cast<long>(end)});
    if (tty) {
      const int done = static_cast<int>(40 * end / events.size());
      std::cerr << fmt::format("\r[{}{}] {}/{}", std::string(done, '#'), std::string(40 - done, ' '), end,
                               events.size());
    }
  }
  if (tty && !events.empty()) std::cerr << "\n";
}

// `nurture import FILE.csv`: one `lead.imported` event per row (header row = attribute names), values typed as
// declared or inferred. A row that cannot be read is said with its line and the others go on (exit 1 at the end);
// with --strict nothing is imported when any row is bad. A UTF-8 byte order mark is skipped.
int import_csv(const ImportOptions& options, const std::string& redis_flag, const std::string& config_path) {
  const std::string& file = options.file;
  const auto input = read_input(file);
  if (!input) return say({{input.error()}, 2});
  std::string_view content = *input;
  if (content.rfind("\xef\xbb\xbf", 0) == 0) content.remove_prefix(3);  // a UTF-8 byte order mark
  if (const std::size_t bad = text::first_invalid_utf8(content); bad != std::string_view::npos) {
    const auto line = 1 + std::count(content.begin(), content.begin() + static_cast<long>(bad), '\n');
    std::cerr << fmt::format("{}:{}: error: the file is not UTF-8 text (save it as UTF-8; byte {} is 0x{:02x})\n",
                             file, line, bad + 1, static_cast<unsigned char>(content[bad]));
    return 1;
  }
  auto opened = open_cli_store(redis_flag, config_path);
  if (!opened) return say(opened.error());
  const std::string text(content);
  text::CsvReader reader(text);
  // Every problem of the file is said the one way: file:line:col: error: message (fix).
  auto tell = [&file](Error error) {
    error.where.file = file;
    std::cerr << error.format() << "\n";
  };
  auto header = reader.next();
  if (!header) return tell(header.error()), 1;
  if (!*header) return tell({"the file is empty", {"", 1, 0}, "it needs a header row"}), 1;
  const text::CsvRecord& columns = **header;
  const auto id_at = std::find(columns.begin(), columns.end(), options.id_column);
  if (id_at == columns.end()) {
    tell({fmt::format("no column \"{}\" for the lead id (columns: {})", options.id_column, fmt::join(columns, ", ")),
          {"", 1, 0}, "pass --id-column"});
    return 1;
  }
  const std::size_t id_index = static_cast<std::size_t>(id_at - columns.begin());
  std::vector<engine::StreamFields> events;
  std::size_t refused = 0;
  while (true) {
    auto row = reader.next();
    if (!row) {  // the CSV itself is broken (an unclosed quote): nothing after it can be read
      tell(row.error());
      ++refused;
      break;
    }
    if (!*row) break;
    const text::CsvRecord& record = **row;
    if (record.size() == 1 && record.front().empty()) continue;  // a blank line
    auto event = row_event(columns, record, id_index, declared_attributes(*opened));
    if (!event) {
      tell({event.error(), {"", reader.line(), 0}});
      ++refused;
      continue;
    }
    events.push_back(std::move(*event));
  }
  if (refused > 0 && options.strict) {
    std::cout << fmt::format("nothing imported from {}: {} row(s) refused (--strict)\n", file, refused);
    return 1;
  }
  try {
    add_in_chunks(*opened->store, events);
  } catch (const engine::StoreUnavailable& e) {
    std::cerr << "\nerror: " << e.what() << "\n";
    return 3;
  }
  std::cout << fmt::format("{} lead(s) imported from {}", events.size(), file);
  if (refused > 0) std::cout << fmt::format(", {} row(s) refused (said above)", refused);
  std::cout << "\n";
  return refused > 0 ? 1 : 0;
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
  auto opened = open_cli_store(redis_flag, config_path);
  if (!opened) return say(opened.error());
  // Props are not lead attributes: only inferred.
  if (!add_pairs(options.attrs, declared_attributes(*opened), event.attrs, "--attr") ||
      !add_pairs(options.props, {}, event.props, "--prop")) {
    return 2;
  }
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

  engine::redis::RedisStore& store = *opened->store;
  try {
    store.add_event(fields);
  } catch (const engine::StoreUnavailable& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 3;
  }
  return 0;
}

}  // namespace

Command add_emit(CLI::App& app) {
  struct Flags {
    EmitOptions options;
    StoreFlags store;
  };
  auto flags = std::make_shared<Flags>();
  EmitOptions& o = flags->options;
  auto* command = app.add_subcommand("emit", "add one event to the stream");
  command->add_option("type", o.type, "event type, e.g. lead.created")->required();
  command->add_option("--lead", o.lead, "lead id")->required();
  command->add_option("--attr", o.attrs, "attribute update key=value (repeatable)");
  command->add_option("--prop", o.props, "event property key=value (repeatable)");
  command->add_option("--at", o.at, "when it happened (RFC 3339; default now)");
  command->add_option("--id", o.id, "producer idempotency key");
  add_store_options(command, flags->store);
  return {command, [flags] { return emit(flags->options, flags->store.redis, flags->store.config); }};
}

Command add_import(CLI::App& app) {
  struct Flags {
    ImportOptions options;
    StoreFlags store;
  };
  auto flags = std::make_shared<Flags>();
  auto* command = app.add_subcommand("import", "upsert leads from a CSV file (header row = attribute names)");
  command->add_option("file", flags->options.file, "the CSV file")->required();
  command->add_option("--id-column", flags->options.id_column, "the column holding the lead id")->capture_default_str();
  command->add_flag("--strict", flags->options.strict, "import nothing when any row is refused");
  add_store_options(command, flags->store);
  return {command, [flags] { return import_csv(flags->options, flags->store.redis, flags->store.config); }};
}

}  // namespace nurture::cli
