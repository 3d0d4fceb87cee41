// The `nurture` command line: wires the commands (engine/cli/command.hpp) into one app. Exit codes: 0 ok, 1 invalid
// input / failed check, 2 usage, 3 cannot reach Redis or a connector.

#include <csignal>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "engine/cli/command.hpp"

int main(int argc, char** argv) {
  using namespace nurture::cli;
  // A Redis or HTTP peer that goes away is an error reply to report, not a silent death by SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  // Logs go to stderr: stdout carries what commands print (timelines, reports, previews) and must stay clean.
  spdlog::set_default_logger(spdlog::stderr_color_mt("nurture"));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  CLI::App app{"nurture: a marketing automation campaign engine"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "nurture 0.1.0");
  const std::vector<Command> commands = {
      add_run(app),     add_validate(app), add_simulate(app), add_preview(app), add_dsn(app),    add_report(app),
      add_import(app),  add_lead(app),     add_graph(app),    add_schema(app),  add_emit(app),
      add_segment(app), add_suppress(app), add_workflow(app), add_posts(app), add_broadcast(app),
      add_send_test(app),
  };
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  for (const Command& command : commands) {
    if (*command.app) return command.run();
  }
  return 2;
}
