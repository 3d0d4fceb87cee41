// `nurture simulate`: the campaign on a virtual clock against events from a file.

#include <fstream>
#include <iostream>

#include <fmt/format.h>

#include "engine/cli/command.hpp"
#include "engine/runtime/simulation.hpp"
#include "workflows/campaign.hpp"

namespace nurture::cli {

namespace {

struct SimulateOptions {
  std::string dir = ".";
  std::string events;
  std::string start;
  std::string until;
  std::string out;
  std::string format = "jsonl";
  bool explain = false;
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
  if (!events) return say({{events.error()}, 1});
  engine::SimulationOptions sim;
  sim.explain = options.explain;
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

}  // namespace

Command add_simulate(CLI::App& app) {
  struct Flags {
    SimulateOptions options;
    std::string config;
  };
  auto flags = std::make_shared<Flags>();
  SimulateOptions& o = flags->options;
  auto* command = app.add_subcommand("simulate", "run the campaign on a virtual clock against events from a file");
  command->add_option("dir", o.dir, "campaign directory")->capture_default_str();
  command->add_option("--events", o.events, "JSON Lines events, `at` required")->required();
  command->add_option("--start", o.start, "start of the clock (default: the first event)");
  command->add_option("--until", o.until, "a duration after start, or a time");
  command->add_option("--out", o.out, "write the timeline here instead of stdout");
  command->add_option("--format", o.format, "jsonl or table")
      ->check(CLI::IsMember({"jsonl", "table"}))
      ->capture_default_str();
  command->add_flag("--explain", o.explain,
                    "add why: decision (branch or split, and the condition), deferred (send window, until when), "
                    "score (rule, points, total) lines");
  command->add_option("--config", flags->config, "config file (default DIR/nurture.yaml)");
  return {command, [flags] { return simulate(flags->options, flags->config); }};
}

}  // namespace nurture::cli
