// bench/simulate: 100k leads through a 30-day, 5-email drip with branches, on the virtual clock of `simulate`
// (in-memory store, same interpreter as the daemon, leads spread over the machine's cores as `simulate` does).
// Prints wall time, leads/s and CPU per lead. Goal: under 3 s. The run is made RUNS times (3 unless told) and the
// median counts: on these noisy machines one run can take 40% longer than the next; every run's time is printed.
//
//   build/bench/bench_simulate [LEADS] [RUNS]

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include <fmt/format.h>

#include "bench/support/bench_support.hpp"
#include "engine/runtime/simulation.hpp"
#include "workflows/campaign.hpp"

namespace fs = std::filesystem;
using namespace nurture;

namespace {

void write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

fs::path make_campaign() {
  const fs::path dir = fs::temp_directory_path() / fmt::format("nurture-bench-simulate-{}", ::getpid());
  write(dir / "nurture.yaml", R"(sender: { from: "Acme <hello@acme.example>", postal_address: "1 Main St" }
defaults: { email: outbox }
connectors: { outbox: { type: null } }
)");
  write(dir / "scoring.yaml", R"(rules:
  - { event: email.clicked, points: 3 }
  - { event: page.viewed, where: { prop.path: { matches: "^/pricing" } }, points: 5 }
stages:
  lead: { attr.email: { exists: true } }
  mql: { score: { gte: 8 } }
)");
  write(dir / "workflows/drip.yaml", R"(workflow: drip
trigger: { event: lead.created }
exit_when:
  - event: purchase.completed
    goal: converted
steps:
  - id: e1
    email: { template: t }
  - wait: 3d
  - branch:
      - if: { event: email.clicked, step: e1 }
        goto: e2_clicked
      - else: e2_quiet
  - id: e2_clicked
    email: { template: t }
    goto: w2
  - id: e2_quiet
    email: { template: t }
  - id: w2
    wait: 7d
  - id: e3
    email: { template: t }
  - wait: 10d
  - branch:
      - if: { score: { gte: 8 } }
        goto: e4_hot
      - else: e4_cold
  - id: e4_hot
    email: { template: t }
    goto: w4
  - id: e4_cold
    email: { template: t }
  - id: w4
    wait: 10d
  - id: e5
    email: { template: t }
)");
  write(dir / "templates/t.mustache", "---\nsubject: s\n---\n{{unsubscribe_url}} {{sender.postal_address}}\n");
  return dir;
}

}  // namespace

int main(int argc, char** argv) {
  const int leads = argc > 1 ? std::atoi(argv[1]) : 100000;
  const int run_count = std::max(1, argc > 2 ? std::atoi(argv[2]) : 3);
  const fs::path dir = make_campaign();
  auto load = workflows::load_campaign(dir);
  if (!load.ok()) {
    for (const auto& d : load.diagnostics) std::cerr << d.format() << "\n";
    return 1;
  }
  const engine::TimePoint t0 = *engine::parse_rfc3339("2026-03-02T00:00:00Z");
  std::vector<engine::Event> events;
  events.reserve(static_cast<std::size_t>(leads) * 2);
  for (int i = 0; i < leads; ++i) {
    engine::Event created;
    created.type = "lead.created";
    created.lead = fmt::format("lead-{}", i);
    created.at = t0 + std::chrono::seconds(i % 86400);
    created.attrs = {{"email", fmt::format("lead{}@example.com", i)}, {"first_name", "Lead"}};
    events.push_back(created);
    if (i % 3 == 0) {  // a third click the first email within a day
      engine::Event click;
      click.type = "email.clicked";
      click.lead = created.lead;
      click.at = created.at + std::chrono::hours(20);
      click.props = {{"workflow", "drip"}, {"step", "e1"}};
      events.push_back(click);
    }
    if (i % 5 == 0) {
      engine::Event view;
      view.type = "page.viewed";
      view.lead = created.lead;
      view.at = created.at + std::chrono::days(6);
      view.props = {{"path", "/pricing"}};
      events.push_back(view);
    }
    if (i % 20 == 0) {
      engine::Event purchase;
      purchase.type = "purchase.completed";
      purchase.lead = created.lead;
      purchase.at = created.at + std::chrono::days(15);
      events.push_back(purchase);
    }
  }
  const std::size_t event_count = events.size();

  // Each run from the same events (copied before the clock starts), on a simulation of its own.
  struct Run {
    double seconds = 0, cpu_s = 0;
  };
  std::vector<Run> runs;
  std::vector<engine::TimelineEntry> timeline;
  for (int r = 0; r < run_count; ++r) {
    std::vector<engine::Event> input = events;
    timeline = {};  // the last run's lines freed before the clock starts
    engine::Simulation simulation(load.campaign);
    const double cpu_before = bench::process_cpu_s();
    const auto start = std::chrono::steady_clock::now();
    timeline = simulation.run(std::move(input), {});
    runs.push_back({std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
                    bench::process_cpu_s() - cpu_before});
  }
  std::vector<Run> by_time = runs;
  std::sort(by_time.begin(), by_time.end(), [](const Run& a, const Run& b) { return a.seconds < b.seconds; });
  const double seconds = by_time[by_time.size() / 2].seconds;
  const double cpu_s = by_time[by_time.size() / 2].cpu_s;

  long actions = 0;
  for (const auto& line : timeline) actions += line.kind == "action";
  std::cout << "bench/simulate: 30-day, 5-email drip with branches, scoring and an exit goal\n\n";
  std::cout << fmt::format("| {:>8} | {:>8} | {:>10} | {:>9} | {:>8} | {:>10} |\n", "leads", "events", "timeline",
                           "actions", "wall s", "leads/s");
  std::cout << "|---------:|---------:|-----------:|----------:|---------:|-----------:|\n";
  std::cout << fmt::format("| {:>8} | {:>8} | {:>10} | {:>9} | {:>8.2f} | {:>10.0f} |\n", leads, event_count,
                           timeline.size(), actions, seconds, leads / seconds);
  std::cout << fmt::format("\nper lead: CPU {:.1f} us (all threads; {} cores; no Redis: the memory store); per timeline "
                           "line {:.2f} us\n",
                           cpu_s * 1e6 / leads, std::thread::hardware_concurrency(),
                           cpu_s * 1e6 / static_cast<double>(timeline.size()));
  std::string each;
  for (const Run& run : runs) each += fmt::format("{}{:.2f}", each.empty() ? "" : ", ", run.seconds);
  std::cout << fmt::format("\n{} runs, wall s: {} (the table shows the median)\n", runs.size(), each);
  std::cout << fmt::format("\ngoal: under 3 s for 100k leads -> {}\n",
                           seconds < 3 ? "met" : "NOT met");
  fs::remove_all(dir);
  return 0;
}
