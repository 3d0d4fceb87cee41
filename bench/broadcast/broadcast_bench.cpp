// bench/broadcast: a broadcast to M leads on one engine process (its two loops, state and dispatch, as the daemon
// runs them), every email rendered and handed to a counting connector. Beside it, in the same run on the same
// Redis, the same M emails sent the way a workflow sends them (one `lead.created` each, a one-step workflow): the
// path every other benchmark measures. Prints sends/s of both, CPU and Redis commands per send, and what the
// broadcast leaves in Redis memory per lead.
//
//   bench_broadcast REDIS_URL [M]

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bench/support/bench_support.hpp"
#include "engine/core/event.hpp"
#include "engine/runtime/engine.hpp"
#include "engine/runtime/pinned_versions.hpp"
#include "engine/store/redis/redis_store.hpp"
#include "workflows/campaign.hpp"

using namespace nurture;
using Clock = std::chrono::steady_clock;

namespace {

class CountingConnector final : public sdk::Connector {
 public:
  void send(const sdk::Action& action, sdk::Completion done) override {
    ++sent_;
    done(sdk::Result::sent("counted"));
  }
  long sent() const { return sent_.load(); }

 private:
  std::atomic<long> sent_{0};
};

const std::string footer = "<p>{{sender.postal_address}} <a href=\"{{unsubscribe_url}}\">Unsubscribe</a></p>";

std::map<std::string, std::string> campaign_files(bool workflow_sends, const std::string& broadcast_at) {
  std::map<std::string, std::string> files{
      {"nurture.yaml", "sender: { from: \"Acme <hello@acme.example>\", postal_address: \"1 Main St\" }\n"
                       "defaults: { email: counter }\npartitions: 16\nconnectors: { counter: { type: null } }\n"},
      {"segments.yaml", "subscribers: { attr.newsletter: true }\n"},
      {"templates/news.mustache",
       "---\nsubject: \"Acme News for {{lead.name}}\"\n---\n<p>Hi {{lead.name}}, here is what shipped.</p>" + footer},
      {"workflows/w.yaml", workflow_sends ? "workflow: w\ntrigger: { event: lead.created }\nsteps:\n"
                                            "  - id: news\n    email: { template: news }\n"
                                          : "workflow: w\ntrigger: { event: never.happens }\nsteps:\n  - wait: 1d\n"}};
  if (!broadcast_at.empty()) {
    files["broadcasts/news.yaml"] =
        fmt::format("broadcast: news\nsegment: subscribers\nat: \"{}\"\nemail: {{ template: news }}\n", broadcast_at);
  }
  return files;
}

long long used_memory(engine::redis::RedisConnection& redis) {
  std::istringstream info(redis.command({"INFO", "MEMORY"}).text);
  std::string line;
  while (std::getline(info, line)) {
    if (line.rfind("used_memory:", 0) == 0) return std::stoll(line.substr(12));
  }
  return 0;
}

struct Run {
  double seconds = 0, engine_cpu_s = 0;
  bench::RedisUsage redis;
  long sent = 0;
};

// Runs the campaign's engine (state and dispatch loops) until `goal` emails were counted; `before_start` runs once
// the loops are up (the workflow run adds its events there).
template <typename Start>
Run run_engine(const std::string& url, const std::string& prefix, const workflows::Campaign& campaign, long goal,
               Start before_start) {
  templates::TemplateLibrary templates(campaign.templates_dir);
  engine::ConnectorSet connectors;
  auto counter = std::make_unique<CountingConnector>();
  CountingConnector* counting = counter.get();
  connectors.add("counter", std::move(counter));
  engine::RealClock clock;
  bench::Workers engines(url, prefix, campaign, templates, connectors, clock, 1);
  auto probe = bench::connect_or_exit(url);
  const bench::RedisUsage redis_before = bench::redis_usage(*probe);
  const double cpu_before = bench::process_cpu_s();
  const auto t0 = Clock::now();
  engines.start_loops();
  before_start();
  while (counting->sent() < goal) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  Run run;
  run.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  engines.stop();
  run.engine_cpu_s = bench::process_cpu_s() - cpu_before;
  run.redis = bench::redis_usage(*probe).since(redis_before);
  run.sent = counting->sent();
  return run;
}

void add_leads(const std::string& url, const std::string& prefix, long m) {
  auto producer = bench::connect_or_exit(url);
  for (long start = 0; start < m; start += 1000) {
    std::vector<engine::redis::Command> chunk;
    for (long i = start; i < std::min(m, start + 1000); ++i) {
      chunk.push_back({"XADD", prefix + "events", "*", "type", "lead.created", "lead", fmt::format("lead-{}", i),
                       "attrs", fmt::format(R"({{"email":"lead{0}@example.com","name":"Lead{0}","newsletter":true}})", i)});
    }
    producer->pipeline(chunk);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: bench_broadcast REDIS_URL [M]\n";
    return 2;
  }
  const std::string url = argv[1];
  const long m = argc > 2 ? std::atol(argv[2]) : 1000000;
  const std::string prefix = fmt::format("bcast{}:", ::getpid());
  auto probe = bench::connect_or_exit(url);

  // (1) The workflow path: M lead.created events, each enrolling the lead and sending it one email. This also
  // stores the M leads the broadcast then goes to.
  const bench::TempCampaign workflow("broadcast-workflow", campaign_files(true, ""));
  const Run by_workflow = run_engine(url, prefix, workflow.campaign(), m, [&] { add_leads(url, prefix, m); });

  // (2) A broadcast to the segment of those M leads, due a second after the engine starts.
  const auto at = std::chrono::system_clock::now() + std::chrono::seconds(1);
  const bench::TempCampaign broadcast("broadcast", campaign_files(false, engine::format_rfc3339(at)));
  probe->command({"MEMORY", "PURGE"});
  const long long memory_before = used_memory(*probe);
  Run by_broadcast = run_engine(url, prefix, broadcast.campaign(), m, [] {});
  by_broadcast.seconds -= 1.0;  // the wait for its time is not sending
  const long long memory_after = used_memory(*probe);
  long given = 0;
  {
    engine::redis::RedisStore store(bench::connect_or_exit(url),
                                    {prefix, 16, "bench", std::chrono::hours(24), std::chrono::hours(24)});
    store.scan_leads(1000, [&](std::vector<engine::LeadSnapshot>& leads) {
      for (const auto& lead : leads) given += lead.broadcasts.count("news");
      return true;
    });
  }
  bench::delete_keys(*probe, prefix);

  nlohmann::ordered_json cost_workflow, cost_broadcast;
  bench::add_cost(cost_workflow, "send", static_cast<double>(by_workflow.sent), by_workflow.engine_cpu_s,
                  by_workflow.redis);
  bench::add_cost(cost_broadcast, "send", static_cast<double>(by_broadcast.sent), by_broadcast.engine_cpu_s,
                  by_broadcast.redis);
  std::cout << fmt::format("bench/broadcast: {} leads in a segment, one email each, rendered and counted (the null "
                           "connector's place); one engine process, its state and dispatch loops on two threads\n\n",
                           m);
  std::cout << "| path | sends/s | CPU us/send engine | CPU us/send Redis | Redis cmds/send | top commands per send |\n";
  std::cout << "|---|---:|---:|---:|---:|---|\n";
  const auto row = [](const char* name, const Run& run, const nlohmann::ordered_json& cost) {
    return fmt::format("| {} | {:.0f} | {} | {} | {} | {} |\n", name, run.sent / run.seconds,
                       cost["cpu_us_per_send_engine"].dump(), cost["cpu_us_per_send_redis"].dump(),
                       cost["redis_commands_per_send"].dump(), cost["redis_top_commands_per_send"].dump());
  };
  std::cout << row("a workflow (lead.created -> email), the same run", by_workflow, cost_workflow);
  std::cout << row("the broadcast (plan: one scan; each send a lead commit)", by_broadcast, cost_broadcast);
  std::cout << fmt::format("\nbroadcast / workflow sends/s: {:.2f}; {} leads recorded as given it (expected {}); "
                           "Redis memory {:.1f} MB before, {:.1f} MB after, {:.0f} bytes more per lead (the lead's "
                           "record of it, its dispatch record, the outbox until trimmed)\n",
                           (by_broadcast.sent / by_broadcast.seconds) / (by_workflow.sent / by_workflow.seconds), given,
                           m, static_cast<double>(memory_before) / 1e6, static_cast<double>(memory_after) / 1e6,
                           static_cast<double>(memory_after - memory_before) / static_cast<double>(m));
  return 0;
}
