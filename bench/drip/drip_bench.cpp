// bench/drip, nurture's side: the 3-step drip of the BullMQ peer (shared/bench/peer-bullmq) on nurture. LEADS
// `lead.created` events are added to the stream in pipelined chunks of 1000 (the peer's addBulk), one engine
// process (this one) runs the campaign welcome -> wait DELAY -> nudge -> wait DELAY -> offer, and every email is
// rendered and handed to a counting connector (the peer's simulated send). Wall time runs from the first XADD to
// the last send; overhead = wall - 2 x DELAY, the time beyond the waits both engines must sit out.
// Prints one JSON line with the peer's field names.
//
// WORKERS (default 1) runs that many engines in the process, as nurture.yaml's `workers` does.
//
//   bench_drip REDIS_URL [LEADS] [DELAY_MS] [WORKERS]

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "bench/support/bench_support.hpp"
#include "engine/runtime/engine.hpp"
#include "engine/runtime/pinned_versions.hpp"
#include "engine/store/redis/redis_store.hpp"
#include "workflows/campaign.hpp"

namespace fs = std::filesystem;
using namespace nurture;
using Clock = std::chrono::steady_clock;

namespace {

// The peer's simulated send: count it, remember when.
class CountingConnector final : public sdk::Connector {
 public:
  void send(const sdk::Action& action, sdk::Completion done) override {
    bytes_ += action.email.mime.size();
    const auto now = Clock::now();
    last_ = now;
    const int step = action.step == "welcome" ? 0 : action.step == "nudge" ? 1 : 2;
    if (step_first_[step].load() == Clock::time_point{}) step_first_[step] = now;
    step_last_[step] = now;
    ++sent_;
    done(sdk::Result::sent("counted"));
  }
  std::atomic<Clock::time_point> step_first_[3]{};
  std::atomic<Clock::time_point> step_last_[3]{};
  long sent() const { return sent_.load(); }
  long bytes() const { return bytes_.load(); }
  Clock::time_point last() const { return last_.load(); }

 private:
  std::atomic<long> sent_{0};
  std::atomic<long> bytes_{0};
  std::atomic<Clock::time_point> last_{};
};

std::map<std::string, std::string> campaign_files(long delay_ms) {
  const std::string footer = "<p>{{sender.postal_address}} <a href=\"{{unsubscribe_url}}\">Unsubscribe</a></p>";
  return {
      {"nurture.yaml", R"(sender: { from: "Acme <hello@acme.example>", postal_address: "1 Main St" }
defaults: { email: counter }
partitions: 16
connectors: { counter: { type: null } }
)"},
      {"workflows/drip.yaml", fmt::format(R"(workflow: drip
trigger: {{ event: lead.created }}
steps:
  - id: welcome
    email: {{ template: welcome }}
  - wait: {0}s
  - id: nudge
    email: {{ template: nudge }}
  - wait: {0}s
  - id: offer
    email: {{ template: offer }}
)",
                                          delay_ms / 1000)},
      {"templates/welcome.mustache", "---\nsubject: \"Welcome aboard, {{lead.name}}!\"\n---\n<p>Hi {{lead.name}}, "
                                     "thanks for signing up (lead #{{lead.id}}).</p>" + footer},
      {"templates/nudge.mustache", "---\nsubject: \"{{lead.name}}, did you see this?\"\n---\n<p>Hi {{lead.name}}, "
                                   "here are three tips to get started.</p>" + footer},
      {"templates/offer.mustache", "---\nsubject: \"A gift for you, {{lead.name}}\"\n---\n<p>Use code "
                                   "DRIP{{lead.id}} for 20% off.</p>" + footer},
  };
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: bench_drip REDIS_URL [LEADS] [DELAY_MS] [WORKERS]\n";
    return 2;
  }
  const std::string url = argv[1];
  const long leads = argc > 2 ? std::atol(argv[2]) : 20000;
  const long delay_ms = argc > 3 ? std::atol(argv[3]) : 1000;
  const int workers = argc > 4 ? std::atoi(argv[4]) : 1;
  if (delay_ms % 1000 != 0) {
    std::cerr << "DELAY_MS must be whole seconds (the language's smallest unit)\n";
    return 2;
  }
  const bench::TempCampaign temp("drip", campaign_files(delay_ms));
  const workflows::Campaign& campaign = temp.campaign();
  const std::string prefix = fmt::format("bench{}:", ::getpid());
  auto open = [&] { return bench::connect_or_exit(url); };
  templates::TemplateLibrary templates(campaign.templates_dir);
  engine::ConnectorSet connectors;
  auto counter = std::make_unique<CountingConnector>();
  CountingConnector* counting = counter.get();
  connectors.add("counter", std::move(counter));
  engine::RealClock clock;
  // The daemon's two loops per worker: lead state (ingest, timers) and dispatch, each with its own connection.
  bench::Workers engines(url, prefix, campaign, templates, connectors, clock, workers);
  engines.start_loops();

  auto producer = open();
  const bench::RedisUsage redis_before = bench::redis_usage(*producer);
  const double cpu_before = bench::process_cpu_s();
  const auto t0 = Clock::now();
  const std::string stream = prefix + "events";
  for (long start = 0; start < leads; start += 1000) {
    std::vector<engine::redis::Command> chunk;
    for (long i = start; i < std::min(leads, start + 1000); ++i) {
      chunk.push_back({"XADD", stream, "*", "type", "lead.created", "lead", fmt::format("lead-{}", i), "attrs",
                       fmt::format(R"({{"email":"lead{0}@example.com","name":"Lead{0}"}})", i)});
    }
    producer->pipeline(chunk);
  }
  const auto t_enqueued = Clock::now();
  while (counting->sent() < 3 * leads) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const double seconds = std::chrono::duration<double>(counting->last() - t0).count();
  const double engine_cpu_s = bench::process_cpu_s() - cpu_before;
  const bench::RedisUsage redis_used = bench::redis_usage(*producer).since(redis_before);
  engines.stop();

  bench::delete_keys(*producer, prefix);

  nlohmann::ordered_json result;
  result["engine"] = "nurture";
  result["leads"] = leads;
  result["workers"] = workers;
  result["sends"] = counting->sent();
  result["seconds"] = std::round(seconds * 1000) / 1000;
  result["sends_per_s"] = std::lround(counting->sent() / seconds);
  result["delay_ms"] = delay_ms;
  result["enqueue_s"] = std::round(std::chrono::duration<double>(t_enqueued - t0).count() * 1000) / 1000;
  result["overhead_s"] = std::round((seconds - 2.0 * delay_ms / 1000.0) * 1000) / 1000;
  result["outbox_bytes"] = counting->bytes();
  auto rel = [&](Clock::time_point t) { return std::round(std::chrono::duration<double>(t - t0).count() * 1000) / 1000; };
  result["step_first_s"] = {rel(counting->step_first_[0]), rel(counting->step_first_[1]), rel(counting->step_first_[2])};
  result["step_last_s"] = {rel(counting->step_last_[0]), rel(counting->step_last_[1]), rel(counting->step_last_[2])};
  // As the peer counts them: this process (all threads, the producer's XADDs too) and redis-server, first XADD to
  // last send.
  bench::add_cost(result, "send", static_cast<double>(counting->sent()), engine_cpu_s, redis_used);
  std::cout << result.dump() << std::endl;
  return 0;
}
