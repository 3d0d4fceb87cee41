// bench/ingest: events/s through one engine process (WORKERS engines in it, as nurture.yaml's `workers`, default
// 1). N `lead.updated` events (attributes for N/4 distinct leads,
// so each commits a transition) are put on the stream first; the clock runs from the engine's first read until the
// last is acknowledged. Prints one JSON line; bench/ingest/run.sh sets it against redis-benchmark's pipelined XADD
// ceiling on the same Redis. Goal: 100k events/s.
//
//   bench_ingest REDIS_URL [N] [WORKERS]

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bench/support/bench_support.hpp"
#include "engine/runtime/engine.hpp"
#include "engine/runtime/pinned_versions.hpp"
#include "engine/store/redis/redis_store.hpp"
#include "workflows/campaign.hpp"

namespace fs = std::filesystem;
using namespace nurture;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: bench_ingest REDIS_URL [N] [WORKERS]\n";
    return 2;
  }
  const std::string url = argv[1];
  const long n = argc > 2 ? std::atol(argv[2]) : 200000;
  const int workers = argc > 3 ? std::atoi(argv[3]) : 1;
  const bench::TempCampaign temp(
      "ingest", {{"nurture.yaml", "sender: { from: \"A <a@a.example>\", postal_address: \"1 Main St\" }\n"
                                  "defaults: { email: counter }\nconnectors: { counter: { type: null } }\n"},
                 {"workflows/w.yaml", "workflow: w\ntrigger: { event: lead.created }\nsteps:\n  - wait: 1d\n"}});
  const workflows::Campaign& campaign = temp.campaign();
  auto open = [&] { return bench::connect_or_exit(url); };
  const std::string prefix = fmt::format("ingest{}:", ::getpid());
  templates::TemplateLibrary templates(campaign.templates_dir);
  engine::ConnectorSet connectors;
  engine::RealClock clock;
  bench::Workers engines(url, prefix, campaign, templates, connectors, clock, workers);
  auto producer = open();
  for (long start = 0; start < n; start += 1000) {
    std::vector<engine::redis::Command> chunk;
    for (long i = start; i < std::min(n, start + 1000); ++i) {
      chunk.push_back({"XADD", prefix + "events", "*", "type", "lead.updated", "lead", fmt::format("lead-{}", i % (n / 4)),
                       "attrs", fmt::format(R"({{"visits":{}}})", i)});
    }
    producer->pipeline(chunk);
  }

  const bench::RedisUsage redis_before = bench::redis_usage(*producer);
  const double cpu_before = bench::process_cpu_s();
  const auto t0 = std::chrono::steady_clock::now();
  std::atomic<long> handled{0};
  std::vector<std::thread> loops;
  for (std::size_t i = 0; i < engines.size(); ++i) {
    loops.emplace_back([&, i] {
      while (handled < n) handled += engines.engine(i).run_state_once(std::chrono::milliseconds(0));
    });
  }
  for (auto& loop : loops) loop.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double engine_cpu_s = bench::process_cpu_s() - cpu_before;
  const bench::RedisUsage redis_used = bench::redis_usage(*producer).since(redis_before);

  bench::delete_keys(*producer, prefix);

  nlohmann::ordered_json result;
  result["events"] = n;
  result["leads"] = n / 4;
  result["workers"] = workers;
  result["seconds"] = std::round(seconds * 1000) / 1000;
  result["events_per_s"] = std::lround(n / seconds);
  bench::add_cost(result, "event", static_cast<double>(n), engine_cpu_s, redis_used);
  std::cout << result.dump() << std::endl;
  return 0;
}
