// `nurture suppress import|export|list|remove`: the suppression lists operators bring (an old unsubscribe list)
// and look after. The dispatcher checks them before every send, so what is imported wins over every workflow from
// the next send on.

#include <fstream>
#include <iostream>
#include <set>

#include <fmt/format.h>

#include "engine/cli/command.hpp"
#include "text/address.hpp"
#include "text/csv.hpp"

namespace nurture::cli {

namespace {

struct SuppressOptions {
  std::string channel = "email";
  std::string file;     // import: the CSV; export: where to write ("" or "-": standard output)
  std::string column;   // import: the column holding the addresses (default: email, address, else the first)
  std::string address;  // remove
  int limit = 50;       // list
  StoreFlags store;
};

bool is_channel(const std::string& channel) {
  return !channel.empty() && channel.size() <= 32 &&
         std::all_of(channel.begin(), channel.end(), [](char c) { return c >= 'a' && c <= 'z'; });
}

// The column to read: the one named, else `email`, else `address`, else the first.
std::optional<std::size_t> address_column(const text::CsvRecord& header, const std::string& wanted) {
  for (const std::string& name : wanted.empty() ? std::vector<std::string>{"email", "address"}
                                                : std::vector<std::string>{wanted}) {
    for (std::size_t i = 0; i < header.size(); ++i) {
      if (header[i] == name) return i;
    }
  }
  if (wanted.empty() && !header.empty()) return 0;
  return std::nullopt;
}

int import_list(const SuppressOptions& options) {
  auto text = read_input(options.file);
  if (!text) return say(1, text.error());
  text::CsvReader reader(*text);
  auto header = reader.next();
  if (!header || !*header) return say(1, Error{"no header row", {options.file, 1}, "the first line names the columns, e.g. `email`"});
  const auto column = address_column(**header, options.column);
  if (!column) return say(1, Error{fmt::format("no column \"{}\"", options.column), {options.file, 1}, "--column names one of the header's columns"});
  std::set<std::string> addresses;
  workflows::Diagnostics refused;
  long read = 0;
  while (true) {
    auto record = reader.next();
    if (!record) {
      refused.push_back(workflows::Diagnostic(Error{record.error().message, {options.file, reader.line()}}));
      break;
    }
    if (!*record) break;
    if (*column >= (*record)->size() || (**record)[*column].empty()) continue;
    ++read;
    const std::string& value = (**record)[*column];
    if (options.channel == "email" && !text::parse_address(value)) {
      refused.push_back(workflows::Diagnostic(Error{fmt::format("\"{}\" is not a mail address", value.substr(0, 200)), {options.file, reader.line()}, "fix or remove the line"}));
      continue;
    }
    addresses.insert(text::address_key(value));
  }
  auto opened = open_cli_store(options.store.redis, options.store.config);
  if (!opened) return say(opened.error());
  long added = 0;
  try {
    added = opened->store->suppress_many(options.channel, {addresses.begin(), addresses.end()});
  } catch (const engine::StoreUnavailable& e) {
    return say(3, Error{e.what()});
  }
  std::cout << fmt::format("{} address(es) read, {} newly suppressed on {}, {} already were; {} line(s) refused\n",
                           read, added, options.channel, static_cast<long>(addresses.size()) - added, refused.size());
  if (refused.empty()) return 0;
  for (std::size_t i = 0; i < refused.size() && i < 20; ++i) std::cerr << refused[i].format() << "\n";
  if (refused.size() > 20) std::cerr << fmt::format("... and {} more\n", refused.size() - 20);
  return 1;
}

int export_list(const SuppressOptions& options, bool as_csv, int limit) {
  auto opened = open_cli_store(options.store.redis, options.store.config);
  if (!opened) return say(opened.error());
  std::vector<std::string> all;
  try {
    opened->store->scan_suppressed(options.channel, [&](const std::vector<std::string>& some) {
      all.insert(all.end(), some.begin(), some.end());
      return true;
    });
  } catch (const engine::StoreUnavailable& e) {
    return say(3, Error{e.what()});
  }
  std::sort(all.begin(), all.end());
  std::ofstream file;
  const bool to_file = as_csv && !options.file.empty() && options.file != "-";
  if (to_file) file.open(options.file, std::ios::binary);
  std::ostream& out = to_file ? static_cast<std::ostream&>(file) : std::cout;
  if (as_csv) out << "address\r\n";
  const std::size_t shown = limit < 0 ? all.size() : std::min(all.size(), static_cast<std::size_t>(limit));
  for (std::size_t i = 0; i < shown; ++i) out << (as_csv ? text::csv_field(all[i]) + "\r\n" : all[i] + "\n");
  if (to_file && !file) return say(1, Error{fmt::format("cannot write {}", options.file)});
  std::cerr << fmt::format("{} address(es) suppressed on {}{}\n", all.size(), options.channel,
                           shown < all.size() ? fmt::format(", the first {} shown (--limit)", shown) : "");
  return 0;
}

int remove_one(const SuppressOptions& options) {
  auto opened = open_cli_store(options.store.redis, options.store.config);
  if (!opened) return say(opened.error());
  try {
    const bool was = opened->store->unsuppress(options.channel, options.address);
    std::cout << fmt::format("{} {} on {}\n", text::address_key(options.address),
                             was ? "is no longer suppressed" : "was not suppressed", options.channel);
  } catch (const engine::StoreUnavailable& e) {
    return say(3, Error{e.what()});
  }
  return 0;
}

}  // namespace

Command add_suppress(CLI::App& app) {
  auto options = std::make_shared<SuppressOptions>();
  auto* command = app.add_subcommand("suppress", "the suppression lists: addresses never sent to again");
  command->require_subcommand(1);
  auto channel = [&](CLI::App* sub) {
    sub->add_option("--channel", options->channel, "email, or another channel's list")
        ->check([](const std::string& c) { return is_channel(c) ? std::string() : "a channel is a-z only"; })
        ->capture_default_str();
    add_store_options(sub, options->store);
  };
  auto* import = command->add_subcommand("import", "add the addresses of a CSV file (idempotent), with a summary");
  import->add_option("file", options->file, "the CSV file (header row; - for standard input)")->required();
  import->add_option("--column", options->column, "the column of addresses (default: email, address, else the first)");
  channel(import);
  auto* export_ = command->add_subcommand("export", "write the whole list as CSV (column `address`)");
  export_->add_option("file", options->file, "where to write (default: standard output)");
  channel(export_);
  auto* list = command->add_subcommand("list", "print the list, sorted");
  list->add_option("--limit", options->limit, "print at most this many")->capture_default_str();
  channel(list);
  auto* remove = command->add_subcommand("remove", "take one address off the list");
  remove->add_option("address", options->address, "the address")->required();
  channel(remove);
  return {command, [options, import, export_, list] {
            if (*import) return import_list(*options);
            if (*export_) return export_list(*options, true, -1);
            if (*list) return export_list(*options, false, options->limit);
            return remove_one(*options);
          }};
}

}  // namespace nurture::cli
