// bench/timers, three runs:
// - memory: N leads waiting WAIT_S (an hour, as leads of a drip wait): Redis bytes per waiting enrollment, and how
//   many of them are its timer.
// - burst: N leads, each created with {email, first_name} and left waiting in one enrollment, with WORKERS engines
//   in the process as the daemon runs them. Reports Redis bytes per waiting enrollment (used_memory after - before,
//   / N), how fast the engines fire them when they all fall due at once (timers/s; the goal is 100k/s) and how
//   late, and the process's RSS (it should not grow with N).
// - steady: leads arrive at RATE per second and wait N / RATE seconds, so that N wait and, from then on, timers fall
//   due at a steady RATE while as many arrive (the goal: lateness p99 <= 50 ms with 1M waiting at 20k/s), with
//   WORKERS engines in the process as the daemon runs them.
//
//   bench_timers REDIS_URL [N] [WAIT_S] [WORKERS]
//   bench_timers REDIS_URL memory N WAIT_S
//   bench_timers REDIS_URL steady N RATE [WORKERS]

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <thread>

#include <fmt/format.h>

#include "bench/support/bench_support.hpp"
#include "engine/core/event.hpp"
#include "engine/core/identity.hpp"
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

// The campaign's `counter` connector, whose sends the bench counts.
CountingConnector* add_counter(engine::ConnectorSet& connectors) {
  auto counter = std::make_unique<CountingConnector>();
  CountingConnector* counting = counter.get();
  connectors.add("counter", std::move(counter));
  return counting;
}

std::map<std::string, std::string> campaign_files(long wait_s) {
  return {{"nurture.yaml", "sender: { from: \"A <a@a.example>\", postal_address: \"1 Main St\" }\n"
                           "defaults: { email: counter }\nconnectors: { counter: { type: null } }\n"},
          {"workflows/wait.yaml", fmt::format("workflow: wait\ntrigger: {{ event: lead.created }}\nsteps:\n"
                                              "  - wait: {}s\n  - email: {{ template: t }}\n",
                                              wait_s)},
          {"templates/t.mustache", "---\nsubject: s\n---\n{{unsubscribe_url}} {{sender.postal_address}}\n"}};
}

// The burst's leads all wait until one instant, an attribute of theirs: however long ingesting them takes, their
// timers fall due together.
std::map<std::string, std::string> campaign_files_until_due_at() {
  auto files = campaign_files(1);
  files["workflows/wait.yaml"] = "workflow: wait\ntrigger: { event: lead.created }\nsteps:\n"
                                 "  - wait_until: { attr: due_at }\n  - email: { template: t }\n";
  return files;
}

engine::redis::Command lead_created(const std::string& prefix, long i, const std::string& due_at = "") {
  std::string attrs = fmt::format(R"({{"email":"lead{0}@example.com","first_name":"Lead{0}")", i);
  attrs += due_at.empty() ? "}" : fmt::format(R"(,"due_at":"{}"}})", due_at);
  return {"XADD", prefix + "events", "*", "type", "lead.created", "lead", fmt::format("lead-{}", i), "attrs", attrs};
}

// Leads lead-0 .. lead-(n-1) created at once, pipelined in chunks of 1000.
void create_leads(engine::redis::RedisConnection& redis, const std::string& prefix, long n,
                  const std::string& due_at = "") {
  for (long start = 0; start < n; start += 1000) {
    std::vector<engine::redis::Command> chunk;
    for (long i = start; i < std::min(n, start + 1000); ++i) chunk.push_back(lead_created(prefix, i, due_at));
    redis.pipeline(chunk);
  }
}

// Timers waiting in the partitions' sorted sets and buckets, and the Redis bytes those keys take.
struct Waiting {
  long long timers = 0;
  long long bytes = 0;
};

Waiting waiting_timers(engine::redis::RedisConnection& redis, const std::string& prefix) {
  Waiting w;
  auto count = [&](const std::string& key, const char* size_command) {
    w.timers += redis.command({size_command, key}).integer;
    w.bytes += redis.command({"MEMORY", "USAGE", key, "SAMPLES", "0"}).integer;
  };
  for (int p = 0; p < 16; ++p) {
    const std::string timers = fmt::format("{}{{{}}}:timers", prefix, p);
    count(timers, "ZCARD");
    w.bytes += redis.command({"MEMORY", "USAGE", timers + ":b", "SAMPLES", "0"}).integer;
    for (const auto& bucket : redis.command({"ZRANGE", timers + ":b", "0", "-1"}).elements) {
      count(timers + ":b:" + bucket.text, "LLEN");
    }
  }
  return w;
}

long long waiting(engine::redis::RedisConnection& redis, const std::string& prefix) {
  return waiting_timers(redis, prefix).timers;
}

long percentile(const std::vector<std::chrono::milliseconds>& sorted, double p) {
  if (sorted.empty()) return 0;
  return static_cast<long>(sorted[std::min(sorted.size() - 1, static_cast<std::size_t>(p * sorted.size()))].count());
}

// Leads arrive at `rate` per second (the bench's producer, paced in 10 ms steps) and wait n / rate seconds: after
// that, n wait while timers fall due at `rate` and as many arrive. Measured over the next `measure_s` seconds.
int run_steady(const std::string& url, long n, long rate, int workers) {
  const long wait_s = std::max(1L, n / rate);
  const long measure_s = 15;
  const bench::TempCampaign temp("steady", campaign_files(wait_s));
  const std::string prefix = fmt::format("steady{}:", ::getpid());
  templates::TemplateLibrary templates(temp.campaign().templates_dir);
  engine::ConnectorSet connectors;
  CountingConnector* counting = add_counter(connectors);
  engine::RealClock clock;
  engine::Metrics metrics;
  metrics.keep_lateness_samples(true);
  bench::Workers engines(url, prefix, temp.campaign(), templates, connectors, clock, workers);
  for (std::size_t i = 0; i < engines.size(); ++i) engines.engine(i).set_metrics(&metrics);
  engines.start_loops();
  auto probe = bench::connect_or_exit(url);

  const long step = std::max(1L, rate / 100);
  const long total = rate * (wait_s + measure_s);
  const auto start = std::chrono::steady_clock::now();
  const auto first_due = start + std::chrono::seconds(wait_s);
  long long waiting_at_first_due = -1;
  bench::RedisUsage redis_before{};
  double cpu_before = 0, producer_cpu_before = 0;
  auto measured_from = std::chrono::steady_clock::now();
  long sent_before = 0;
  for (long next = 0; next < total; next += step) {
    std::this_thread::sleep_until(start + std::chrono::milliseconds(next * 1000 / rate));
    if (waiting_at_first_due < 0 && std::chrono::steady_clock::now() >= first_due) {
      waiting_at_first_due = waiting(*probe, prefix);
      redis_before = bench::redis_usage(*probe);
      cpu_before = bench::process_cpu_s();
      producer_cpu_before = bench::thread_cpu_s();  // this thread is the producer
      measured_from = std::chrono::steady_clock::now();
      sent_before = counting->sent;
    }
    std::vector<engine::redis::Command> chunk;
    for (long i = next; i < std::min(total, next + step); ++i) chunk.push_back(lead_created(prefix, i));
    probe->pipeline(chunk);
  }
  const double engine_cpu_s = bench::process_cpu_s() - cpu_before;
  const double producer_cpu_s = bench::thread_cpu_s() - producer_cpu_before;
  const double measured_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - measured_from).count();
  const bench::RedisUsage redis_used = bench::redis_usage(*probe).since(redis_before);
  const long fired = counting->sent - sent_before;
  const double lagging_s =
      static_cast<double>(rate * measure_s - fired) / static_cast<double>(rate);  // > 0: it fell behind
  engines.stop();
  auto lateness = metrics.lateness_samples();
  std::sort(lateness.begin(), lateness.end());
  bench::delete_keys(*probe, prefix);

  std::cout << fmt::format("\nsteady: leads arrive at {}/s and wait {} s, so that {} wait and timers fall due at "
                           "{}/s as many arrive; {} worker(s); measured over {} s from the first falling due\n\n",
                           rate, wait_s, n, rate, workers, measure_s);
  std::cout << "| waiting when the first fell due | fired and sent | lateness p50 ms | p99 ms | max ms |\n";
  std::cout << "|--------------------------------:|---------------:|----------------:|-------:|-------:|\n";
  std::cout << fmt::format("| {} | {} ({:.0f}/s) | {} | {} | {} |\n", waiting_at_first_due, fired,
                           static_cast<double>(fired) / measure_s, percentile(lateness, 0.5),
                           percentile(lateness, 0.99), lateness.empty() ? 0 : lateness.back().count());
  nlohmann::ordered_json cost;
  bench::add_cost(cost, "timer", static_cast<double>(std::max(fired, 1L)), engine_cpu_s, redis_used);
  std::cout << fmt::format("\nper timer (arriving, firing and sending): CPU {} us in the engine, {} us in "
                           "redis-server, {} Redis commands {}{}\n",
                           cost["cpu_us_per_timer_engine"].dump(), cost["cpu_us_per_timer_redis"].dump(),
                           cost["redis_commands_per_timer"].dump(), cost["redis_top_commands_per_timer"].dump(),
                           lagging_s > 0.5 ? fmt::format("; it fell {:.1f} s behind", lagging_s) : "");
  // Lateness is queueing: when the engine and Redis keep the machine's cores busy, a timer falling due waits for
  // a core as well as for the state loop to come round.
  std::cout << fmt::format("\ncores busy over those {:.1f} s: the bench process {:.2f} (its producer of events "
                           "{:.2f}, the engines the rest), redis-server {:.2f}; this machine has {}\n",
                           measured_s, engine_cpu_s / measured_s, producer_cpu_s / measured_s,
                           redis_used.cpu_s / measured_s, std::thread::hardware_concurrency());
  std::cout << fmt::format("\ngoal: lateness p99 <= 50 ms with 1M waiting at 20k/s -> {}\n",
                           percentile(lateness, 0.99) <= 50 && n >= 1000000 && rate >= 20000 ? "met" : "not met");
  return 0;
}

// N leads created at once, waiting wait_s, then all falling due together; `workers` engines in the process, as the
// daemon runs them. Ingest and firing both run on the engines' own loops.
int run_burst(const std::string& url, long n, long wait_s, int workers) {
  const bench::TempCampaign temp("timers", campaign_files_until_due_at());
  // As long as the default `nurture:` (8 bytes), so that the keys cost what an operator's do; unique per run.
  const std::string prefix = fmt::format("t{:06}:", ::getpid() % 1000000);
  templates::TemplateLibrary templates(temp.campaign().templates_dir);
  engine::ConnectorSet connectors;
  CountingConnector* counting = add_counter(connectors);
  engine::RealClock clock;
  engine::Metrics metrics;
  metrics.keep_lateness_samples(true);
  auto probe = bench::connect_or_exit(url);
  const long long memory_before = used_memory(*probe);
  const long rss_before = rss_kb();
  bench::Workers engines(url, prefix, temp.campaign(), templates, connectors, clock, workers);
  for (std::size_t i = 0; i < engines.size(); ++i) engines.engine(i).set_metrics(&metrics);
  engines.start_loops();

  const auto t0 = std::chrono::steady_clock::now();
  // A whole second, wait_s from now: the instant all of them fall due, on the steady clock too.
  const auto due = std::chrono::ceil<std::chrono::seconds>(std::chrono::system_clock::now()) +
                   std::chrono::seconds(wait_s);
  const auto due_steady = t0 + (due - std::chrono::system_clock::now());
  const std::string due_at = engine::format_rfc3339(due);
  create_leads(*probe, prefix, n, due_at);
  // Ingest everything (the timers are not due yet), then measure what waiting costs.
  while (waiting(*probe, prefix) < n) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const double ingest_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  engine::redis::RedisStore trimmer(bench::connect_or_exit(url),
                                    {prefix, 16, "bench", std::chrono::hours(24), std::chrono::hours(24)});
  trimmer.trim_streams();
  probe->command({"XTRIM", prefix + "events", "MAXLEN", "0"});  // the front door is a queue, not what waits cost
  const long long memory_waiting = used_memory(*probe);
  const long rss_waiting = rss_kb();

  // From the instant all fall due: how late they fire, how fast, and at what cost.
  const bool ingested_in_time = std::chrono::steady_clock::now() < due_steady;
  std::this_thread::sleep_until(due_steady);
  const bench::RedisUsage redis_before = bench::redis_usage(*probe);
  const double cpu_before = bench::process_cpu_s();
  while (counting->sent < n) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const double firing_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - due_steady).count();
  const double engine_cpu_s = bench::process_cpu_s() - cpu_before;
  const bench::RedisUsage redis_used = bench::redis_usage(*probe).since(redis_before);
  engines.stop();
  auto lateness = metrics.lateness_samples();
  std::sort(lateness.begin(), lateness.end());
  auto pct = [&](double p) { return percentile(lateness, p); };
  bench::delete_keys(*probe, prefix);

  std::cout << fmt::format("bench/timers: {} enrollments waiting until one instant ({} s after the first lead was "
                           "created), {} worker(s), Redis {}{}\n\n",
                           n, wait_s, engines.size(), url,
                           ingested_in_time ? "" : "; ingest outlasted the wait: they did not all wait together");
  std::cout << "| leads | ingest s | Redis B / waiting enrollment (timer in the sorted set: due within 2 min) | "
               "lateness p50 ms | p99 ms | max ms | engine RSS MB (waiting) |\n";
  std::cout << "|------:|---------:|------------------------------------------------------------------------:|"
               "----------------:|-------:|-------:|------------------------:|\n";
  std::cout << fmt::format("| {} | {:.1f} | {:.0f} | {} | {} | {} | {:.1f} (+{:.1f}) |\n", n, ingest_s,
                           static_cast<double>(memory_waiting - memory_before) / static_cast<double>(n), pct(0.5),
                           pct(0.99), lateness.empty() ? 0 : lateness.back().count(), rss_waiting / 1024.0,
                           (rss_waiting - rss_before) / 1024.0);
  nlohmann::ordered_json cost;
  bench::add_cost(cost, "timer", static_cast<double>(n), engine_cpu_s, redis_used);
  const double timers_per_s = static_cast<double>(n) / std::max(firing_s, 0.001);
  std::cout << fmt::format("\nfiring: {:.0f} timers/s ({} over {:.1f} s from their falling due, each firing "
                           "and sending); per timer: CPU {} us in the engine, {} us in redis-server, {} Redis "
                           "commands {}\n",
                           timers_per_s, n, firing_s, cost["cpu_us_per_timer_engine"].dump(),
                           cost["cpu_us_per_timer_redis"].dump(), cost["redis_commands_per_timer"].dump(),
                           cost["redis_top_commands_per_timer"].dump());
  std::cout << fmt::format("\ncores busy while firing: the engines {:.2f}, redis-server {:.2f}; this machine has {}\n",
                           engine_cpu_s / firing_s, redis_used.cpu_s / firing_s, std::thread::hardware_concurrency());
  std::cout << fmt::format("\ngoal: >= 100k timers/s -> {} (RSS flat in N; memory per waiting enrollment: the memory "
                           "run)\n",
                           timers_per_s >= 100000 ? "met" : "not met");
  return 0;
}

// N leads waiting wait_s (an hour, as in a drip): Redis bytes per waiting enrollment, and its timer's share.
int run_memory(const std::string& url, long n, long wait_s) {
  const bench::TempCampaign temp("timers", campaign_files(wait_s));
  const workflows::Campaign& campaign = temp.campaign();
  auto open = [&] { return bench::connect_or_exit(url); };
  // As long as the default `nurture:` (8 bytes), so that the keys cost what an operator's do; unique per run.
  const std::string prefix = fmt::format("t{:06}:", ::getpid() % 1000000);
  const engine::redis::RedisStoreOptions options{prefix, 16, "bench", std::chrono::hours(24), std::chrono::hours(24)};
  engine::redis::RedisStore store(open(), options);
  engine::redis::RedisStore dispatch_store(open(), options);
  store.prepare();
  auto probe = open();
  templates::TemplateLibrary templates(campaign.templates_dir);
  engine::ConnectorSet connectors;
  add_counter(connectors);
  engine::RealClock clock;
  engine::Engine engine(store, dispatch_store, campaign, templates, connectors, clock,
                        engine::pin_versions(store, campaign));

  const long long memory_before = used_memory(*probe);
  create_leads(*probe, prefix, n);
  // Ingest everything (the timers are not due yet), then measure what waiting costs.
  while (engine.run_state_once(std::chrono::milliseconds(5)) > 0 ||
         probe->command({"XLEN", prefix + "events"}).integer == 0) {
  }
  while (waiting(*probe, prefix) < n) engine.run_state_once(std::chrono::milliseconds(5));
  store.trim_streams();
  probe->command({"XTRIM", prefix + "events", "MAXLEN", "0"});  // the front door is a queue, not what waits cost
  const long long memory_waiting = used_memory(*probe);
  const Waiting timers = waiting_timers(*probe, prefix);
  const std::string middle_lead = fmt::format("lead-{}", n / 2);
  const std::string lead_key =
      fmt::format("{}{{{}}}:lead:{}", prefix, engine::partition_of(middle_lead, 16), middle_lead);
  const long long lead_bytes = probe->command({"MEMORY", "USAGE", lead_key, "SAMPLES", "0"}).integer;
  bench::delete_keys(*probe, prefix);
  const double per_lead = static_cast<double>(memory_waiting - memory_before) / static_cast<double>(n);
  std::cout << fmt::format("bench/timers memory: {} leads, each waiting {} s in one enrollment, Redis {} (keys under "
                           "a prefix as long as the default nurture:)\n\n",
                           n, wait_s, url);
  std::cout << "| leads | wait s | Redis B / waiting enrollment | of which its timer "
               "| a lead's hash (MEMORY USAGE) |\n";
  std::cout << "|------:|-------:|-----------------------------:|-------------------:"
               "|-----------------------------:|\n";
  std::cout << fmt::format("| {} | {} | {:.0f} | {:.0f} | {} |\n", n, wait_s, per_lead,
                           static_cast<double>(timers.bytes) / static_cast<double>(n), lead_bytes);
  std::cout << fmt::format("\ngoal: <= 256 B per waiting enrollment at 1M -> {}\n",
                           per_lead <= 256 && n >= 1000000 ? "met" : "not met");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: bench_timers REDIS_URL [N] [WAIT_S] [WORKERS]\n       bench_timers REDIS_URL memory N WAIT_S\n"
                 "       bench_timers REDIS_URL steady N RATE [WORKERS]\n";
    return 2;
  }
  const std::string url = argv[1];
  if (argc > 4 && std::string(argv[2]) == "steady") {
    return run_steady(url, std::atol(argv[3]), std::max(1L, std::atol(argv[4])), argc > 5 ? std::atoi(argv[5]) : 1);
  }
  if (argc > 4 && std::string(argv[2]) == "memory") {
    return run_memory(url, std::atol(argv[3]), std::atol(argv[4]));
  }
  return run_burst(url, argc > 2 ? std::atol(argv[2]) : 100000, argc > 3 ? std::atol(argv[3]) : 20,
                   argc > 4 ? std::atoi(argv[4]) : 1);
}
