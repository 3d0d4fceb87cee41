// bench/timers: N leads, each created with {email, first_name} and left waiting in one enrollment (BENCHMARKS.md:
// the goal is 256 bytes). Reports Redis bytes per waiting enrollment (used_memory after - before, / N),
// timer lateness p50/p99 when they all fall due, and the engine's RSS (it should not grow with N).
// Goals (issue 5): p99 <= 50 ms, <= 256 B per waiting enrollment (BullMQ holds ~800 B per lead).
//
//   bench_timers REDIS_URL [N] [WAIT_S]

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include <fmt/format.h>

#include "bench/support/bench_support.hpp"
#include "engine/runtime/engine.hpp"
#include "engine/runtime/pinned_versions.hpp"
#include "engine/store/redis/redis_store.hpp"
#include "workflows/campaign.hpp"

namespace fs = std::filesystem;
using namespace nurture;

namespace {

long long used_memory(engine::redis::RedisConnection& redis) {
  const std::string info = redis.command({"INFO", "memory"}).text;
  const auto at = info.find("used_memory:");
  return std::stoll(info.substr(at + 12));
}

long rss_kb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}

class CountingConnector final : public sdk::Connector {
 public:
  void send(const sdk::Action&, sdk::Completion done) override {
    ++sent;
    done(sdk::Result::sent("counted"));
  }
  std::atomic<long> sent{0};
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: bench_timers REDIS_URL [N] [WAIT_S]\n";
    return 2;
  }
  const std::string url = argv[1];
  const long n = argc > 2 ? std::atol(argv[2]) : 100000;
  const long wait_s = argc > 3 ? std::atol(argv[3]) : 20;
  const bench::TempCampaign temp(
      "timers",
      {{"nurture.yaml", "sender: { from: \"A <a@a.example>\", postal_address: \"1 Main St\" }\n"
                        "defaults: { email: counter }\nconnectors: { counter: { type: null } }\n"},
       {"workflows/wait.yaml", fmt::format("workflow: wait\ntrigger: {{ event: lead.created }}\nsteps:\n"
                                           "  - wait: {}s\n  - email: {{ template: t }}\n",
                                           wait_s)},
       {"templates/t.mustache", "---\nsubject: s\n---\n{{unsubscribe_url}} {{sender.postal_address}}\n"}});
  const workflows::Campaign& campaign = temp.campaign();
  auto open = [&] { return bench::connect_or_exit(url); };
  const std::string prefix = fmt::format("timers{}:", ::getpid());
  const engine::redis::RedisStoreOptions options{prefix, 16, "bench", std::chrono::hours(24), std::chrono::hours(24)};
  engine::redis::RedisStore store(open(), options);
  engine::redis::RedisStore dispatch_store(open(), options);
  store.prepare();
  auto probe = open();
  templates::TemplateLibrary templates(campaign.templates_dir);
  engine::ConnectorSet connectors;
  auto counter = std::make_unique<CountingConnector>();
  CountingConnector* counting = counter.get();
  connectors.add("counter", std::move(counter));
  engine::RealClock clock;
  engine::Metrics metrics;
  metrics.keep_lateness_samples(true);
  engine::Engine engine(store, dispatch_store, campaign, templates, connectors, clock,
                        engine::pin_versions(store, campaign));
  engine.set_metrics(&metrics);

  const long long memory_before = used_memory(*probe);
  const long rss_before = rss_kb();
  const auto t0 = std::chrono::steady_clock::now();
  for (long start = 0; start < n; start += 1000) {
    std::vector<engine::redis::Command> chunk;
    for (long i = start; i < std::min(n, start + 1000); ++i) {
      chunk.push_back({"XADD", prefix + "events", "*", "type", "lead.created", "lead", fmt::format("lead-{}", i),
                       "attrs", fmt::format(R"({{"email":"lead{0}@example.com","first_name":"Lead{0}"}})", i)});
    }
    probe->pipeline(chunk);
  }
  // Ingest everything (the timers are not due yet), then measure what waiting costs.
  while (engine.run_state_once(std::chrono::milliseconds(5)) > 0 || probe->command({"XLEN", prefix + "events"}).integer == 0) {
  }
  long ingested = 0;
  while (true) {
    ingested = 0;
    for (int p = 0; p < 16; ++p) {
      ingested += probe->command({"ZCARD", fmt::format("{}{{{}}}:timers", prefix, p)}).integer;
    }
    if (ingested >= n) break;
    engine.run_state_once(std::chrono::milliseconds(5));
  }
  const double ingest_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  store.trim_streams();
  probe->command({"XTRIM", prefix + "events", "MAXLEN", "0"});  // the front door is a queue, not what waits cost
  const long long memory_waiting = used_memory(*probe);
  const long rss_waiting = rss_kb();

  // Let them fall due, and measure how late they fire, how fast, and at what cost.
  const bench::RedisUsage redis_before = bench::redis_usage(*probe);
  const double cpu_before = bench::process_cpu_s();
  std::atomic<bool> stop{false};
  std::thread dispatch([&] {
    while (!stop) engine.run_dispatch_once(std::chrono::milliseconds(5));
  });
  while (counting->sent < n) engine.run_state_once(std::chrono::milliseconds(1));
  // The first timer fell due `wait_s` after the first event went in; from then on the engine was firing.
  const double firing_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() - static_cast<double>(wait_s);
  const double engine_cpu_s = bench::process_cpu_s() - cpu_before;
  const bench::RedisUsage redis_used = bench::redis_usage(*probe).since(redis_before);
  stop = true;
  dispatch.join();
  auto lateness = metrics.lateness_samples();
  std::sort(lateness.begin(), lateness.end());
  auto pct = [&](double p) { return lateness.empty() ? 0L : static_cast<long>(lateness[std::min(lateness.size() - 1, static_cast<std::size_t>(p * lateness.size()))].count()); };

  bench::delete_keys(*probe, prefix);

  std::cout << fmt::format("bench/timers: {} waiting enrollments (wait {} s), Redis {}\n\n", n, wait_s, url);
  std::cout << "| leads | ingest s | Redis B / waiting enrollment | lateness p50 ms | p99 ms | max ms | engine RSS MB (waiting) |\n";
  std::cout << "|------:|---------:|-----------------------------:|----------------:|-------:|-------:|------------------------:|\n";
  std::cout << fmt::format("| {} | {:.1f} | {:.0f} | {} | {} | {} | {:.1f} (+{:.1f}) |\n", n, ingest_s,
                           static_cast<double>(memory_waiting - memory_before) / static_cast<double>(n), pct(0.5),
                           pct(0.99), lateness.empty() ? 0 : lateness.back().count(), rss_waiting / 1024.0,
                           (rss_waiting - rss_before) / 1024.0);
  nlohmann::ordered_json cost;
  bench::add_cost(cost, "timer", static_cast<double>(n), engine_cpu_s, redis_used);
  std::cout << fmt::format("\nfiring: {:.0f} timers/s ({} over {:.1f} s from the first falling due, each firing and "
                           "sending); per timer: CPU {} us in the engine, {} us in redis-server, {} Redis commands {}\n",
                           static_cast<double>(n) / std::max(firing_s, 0.001), n, firing_s,
                           cost["cpu_us_per_timer_engine"].dump(), cost["cpu_us_per_timer_redis"].dump(),
                           cost["redis_commands_per_timer"].dump(), cost["redis_top_commands_per_timer"].dump());
  std::cout << "\ngoals: <= 256 B per waiting enrollment, p99 lateness <= 50 ms, >= 100k timers/s, RSS flat in N\n";
  return 0;
}
