// `nurture dsn`: a mail server's bounce or abuse report in, suppressions and lead events out.

#include <iostream>

#include <fmt/format.h>

#include "engine/cli/command.hpp"
#include "connectors/smtp/dsn.hpp"
#include "engine/runtime/feedback_recorder.hpp"

namespace nurture::cli {

namespace {

// `nurture dsn [FILE]`: a bounce report (RFC 3464 DSN) or abuse report (RFC 5965 ARF) from a mail server, e.g.
// piped from an alias (`bounces: "|nurture dsn --config /etc/nurture/nurture.yaml"`). Hard bounces and complaints
// suppress the address and reach the lead as email.bounced / email.complained.
int dsn(const std::string& file, const std::string& redis_flag, const std::string& config_path) {
  auto message = read_input(file);
  if (!message) return say({{message.error()}, 1});
  auto reports = connectors::parse_report_message(*message, std::chrono::system_clock::now());
  if (!reports) {
    std::cerr << "error: " << reports.error().message << "\n";
    return 1;
  }
  auto opened = open_cli_store(redis_flag, config_path);
  if (!opened) return say(opened.error());
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

}  // namespace

Command add_dsn(CLI::App& app) {
  struct Flags {
    std::string file;
    StoreFlags store;
  };
  auto flags = std::make_shared<Flags>();
  auto* command =
      app.add_subcommand("dsn", "read a bounce (RFC 3464) or abuse (RFC 5965) report: suppress, tell the lead");
  command->add_option("file", flags->file, "the report message (default: standard input)");
  add_store_options(command, flags->store);
  return {command, [flags] { return dsn(flags->file, flags->store.redis, flags->store.config); }};
}

}  // namespace nurture::cli
