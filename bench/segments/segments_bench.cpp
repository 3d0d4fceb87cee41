// bench/segments: what segments cost. (1) Membership updates on the ingest path: the same N `lead.updated` events
// (each flips a lead's plan, so each one moves it into or out of a segment) through one engine process, without
// and with segments.yaml, in one run on one Redis: events/s of each and their ratio. (2) A new segment evaluated
// over M stored leads (the daemon's background pass): seconds, leads/s, CPU and Redis commands per lead.
//
//   bench_segments REDIS_URL [N] [M]

#include <chrono>
#include <cstdlib>
#include <iostream>

#include <fmt/format.h>

#include "bench/support/bench_support.hpp"
#include "engine/runtime/engine.hpp"
#include "engine/runtime/pinned_versions.hpp"
#include "engine/runtime/segment_evaluation.hpp"
#include "engine/store/redis/redis_store.hpp"
#include "workflows/campaign.hpp"

using namespace nurture;

namespace {

const char* const config_yaml =
    "sender: { from: \"A <a@a.example>\", postal_address: \"1 Main St\" }\n"
    "defaults: { email: counter }\nconnectors: { counter: { type: null } }\n";
const char* const workflow_yaml = "workflow: w\ntrigger: { event: lead.created }\nsteps:\n  - wait: 1d\n";
const char* const segments_yaml =
    "pros: { attr.plan: pro }\n"
    "big_pros: { all: [ { segment: pros }, { attr.seats: { gte: 50 } } ] }\n"
    "engaged: { event: email.clicked, within: 30d }\n";

struct Run {
  double seconds = 0;
  double engine_cpu_s = 0;
  bench::RedisUsage redis;
};

// N events over `leads` leads; a lead's plan alternates from one of its events to the next (starting with `pro`
// for even leads, `free` for odd ones); drained by one engine.
Run ingest(const std::string& url, const workflows::Campaign& campaign, long n, long leads, const std::string& prefix) {
  const engine::redis::RedisStoreOptions options{prefix, 16, "bench", std::chrono::hours(24), std::chrono::hours(24)};
  engine::redis::RedisStore store(bench::connect_or_exit(url), options);
  store.prepare();
  auto producer = bench::connect_or_exit(url);
  for (long start = 0; start < n; start += 1000) {
    std::vector<engine::redis::Command> chunk;
    for (long i = start; i < std::min(n, start + 1000); ++i) {
      const long lead = i % leads, occurrence = i / leads;
      chunk.push_back({"XADD", prefix + "events", "*", "type", "lead.updated", "lead", fmt::format("lead-{}", lead),
                       "attrs", fmt::format(R"({{"plan":"{}","seats":{}}})", (occurrence + lead) % 2 ? "free" : "pro",
                                            i % 100)});
    }
    producer->pipeline(chunk);
  }
  templates::TemplateLibrary templates(campaign.templates_dir);
  engine::ConnectorSet connectors;
  engine::RealClock clock;
  engine::Engine engine(store, store, campaign, templates, connectors, clock, engine::pin_versions(store, campaign));
  const bench::RedisUsage before = bench::redis_usage(*producer);
  const double cpu_before = bench::process_cpu_s();
  const auto t0 = std::chrono::steady_clock::now();
  long handled = 0;
  while (handled < n) handled += engine.run_state_once(std::chrono::milliseconds(0));
  Run run;
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  run.engine_cpu_s = bench::process_cpu_s() - cpu_before;
  run.redis = bench::redis_usage(*producer).since(before);
  return run;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: bench_segments REDIS_URL [N] [M]\n";
    return 2;
  }
  const std::string url = argv[1];
  const long n = argc > 2 ? std::atol(argv[2]) : 200000;
  const long m = argc > 3 ? std::atol(argv[3]) : 1000000;
  const bench::TempCampaign plain("segments-plain", {{"nurture.yaml", config_yaml}, {"workflows/w.yaml", workflow_yaml}});
  const bench::TempCampaign segmented("segments", {{"nurture.yaml", config_yaml},
                                                   {"workflows/w.yaml", workflow_yaml},
                                                   {"segments.yaml", segments_yaml}});
  auto probe = bench::connect_or_exit(url);

  // (1) The ingest path, without and with segments.
  const std::string plain_prefix = fmt::format("segplain{}:", ::getpid());
  const std::string seg_prefix = fmt::format("seg{}:", ::getpid());
  const long leads = n / 4;  // four events each: even leads enter, leave, enter, leave; odd ones enter, leave, enter
  const long updates = leads / 2 * 4 + (leads - leads / 2) * 3;
  const Run without = ingest(url, plain.campaign(), n, leads, plain_prefix);
  const Run with = ingest(url, segmented.campaign(), n, leads, seg_prefix);
  long members = 0;
  {
    engine::redis::RedisStore store(bench::connect_or_exit(url),
                                    {seg_prefix, 16, "bench", std::chrono::hours(24), std::chrono::hours(24)});
    store.scan_leads(1000, [&](std::vector<engine::LeadSnapshot>& leads) {
      for (const auto& lead : leads) members += lead.segments.count("pros");
      return true;
    });
  }
  bench::delete_keys(*probe, plain_prefix);
  bench::delete_keys(*probe, seg_prefix);

  // (2) A new segment over M stored leads: the leads are stored first (without segments), then evaluated.
  const std::string pass_prefix = fmt::format("segpass{}:", ::getpid());
  ingest(url, plain.campaign(), m, m, pass_prefix);  // one event each: the even leads are on `pro`
  const engine::redis::RedisStoreOptions options{pass_prefix, 16, "bench", std::chrono::hours(24), std::chrono::hours(24)};
  engine::redis::RedisStore store(bench::connect_or_exit(url), options);
  const engine::Interpreter interpreter(segmented.campaign());
  engine::RealClock clock;
  const bench::RedisUsage before = bench::redis_usage(*probe);
  const double cpu_before = bench::process_cpu_s();
  const auto t0 = std::chrono::steady_clock::now();
  const engine::SegmentPass pass = engine::evaluate_segments(store, interpreter, clock);
  const double pass_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double pass_cpu_s = bench::process_cpu_s() - cpu_before;
  const bench::RedisUsage pass_redis = bench::redis_usage(*probe).since(before);
  bench::delete_keys(*probe, pass_prefix);

  nlohmann::ordered_json cost_without, cost_with, cost_pass;
  bench::add_cost(cost_without, "event", static_cast<double>(n), without.engine_cpu_s, without.redis);
  bench::add_cost(cost_with, "event", static_cast<double>(n), with.engine_cpu_s, with.redis);
  bench::add_cost(cost_pass, "lead", static_cast<double>(pass.leads), pass_cpu_s, pass_redis);
  std::cout << fmt::format("bench/segments: {} lead.updated events over {} leads, changing the plan that puts a lead "
                           "in `pros` (3 segments: an attribute, a segment of a segment, an event within 30 days)\n\n",
                           n, leads);
  std::cout << "| campaign | events/s | membership updates/s | CPU us/event engine | CPU us/event Redis | Redis cmds/event |\n";
  std::cout << "|---|---:|---:|---:|---:|---:|\n";
  std::cout << fmt::format("| without segments | {:.0f} | - | {} | {} | {} |\n", n / without.seconds,
                           cost_without["cpu_us_per_event_engine"].dump(), cost_without["cpu_us_per_event_redis"].dump(),
                           cost_without["redis_commands_per_event"].dump());
  std::cout << fmt::format("| with segments.yaml | {:.0f} | {:.0f} | {} | {} | {} |\n", n / with.seconds,
                           updates / with.seconds, cost_with["cpu_us_per_event_engine"].dump(),
                           cost_with["cpu_us_per_event_redis"].dump(), cost_with["redis_commands_per_event"].dump());
  std::cout << fmt::format("\nsegments cost {:.0f}% of the ingest rate (with / without: {:.2f}); {} membership updates; "
                           "`pros` ends with {} members (expected {})\n",
                           100.0 * (1.0 - without.seconds / with.seconds), without.seconds / with.seconds, updates,
                           members, leads - leads / 2);
  std::cout << fmt::format("\nnew segment over {} stored leads (the background pass): {:.1f} s, {:.0f} leads/s, {} "
                           "entered (expected {}); per lead: CPU {} us in the engine, {} us in redis-server, {} Redis commands {}\n",
                           pass.leads, pass_s, pass.leads / std::max(pass_s, 0.001), pass.changed, (m + 1) / 2,
                           cost_pass["cpu_us_per_lead_engine"].dump(), cost_pass["cpu_us_per_lead_redis"].dump(),
                           cost_pass["redis_commands_per_lead"].dump(), cost_pass["redis_top_commands_per_lead"].dump());
  return 0;
}
