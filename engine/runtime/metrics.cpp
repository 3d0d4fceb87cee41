// prometheus-cpp's core registry and text serializer behind a small interface, so no other file includes it.

#include "engine/runtime/metrics.hpp"

#include <atomic>
#include <mutex>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace nurture::engine {

struct Metrics::Impl {
  prometheus::Registry registry;
  prometheus::Counter& ingested = prometheus::BuildCounter()
                                      .Name("nurture_events_ingested_total")
                                      .Help("Events read from the front door and the inboxes")
                                      .Register(registry)
                                      .Add({});
  prometheus::Counter& dead_lettered = prometheus::BuildCounter()
                                           .Name("nurture_events_dead_lettered_total")
                                           .Help("Events moved to the dead-letter stream")
                                           .Register(registry)
                                           .Add({});
  prometheus::Counter& committed = prometheus::BuildCounter()
                                       .Name("nurture_transitions_committed_total")
                                       .Help("Lead transitions committed")
                                       .Register(registry)
                                       .Add({});
  prometheus::Counter& conflicts = prometheus::BuildCounter()
                                       .Name("nurture_commit_conflicts_total")
                                       .Help("Commits refused because the lead changed (then recomputed)")
                                       .Register(registry)
                                       .Add({});
  prometheus::Histogram& lateness = prometheus::BuildHistogram()
                                        .Name("nurture_timer_lateness_seconds")
                                        .Help("How late timers fired after they fell due")
                                        .Register(registry)
                                        .Add({}, prometheus::Histogram::BucketBoundaries{0.005, 0.01, 0.025, 0.05, 0.1,
                                                                                         0.25, 0.5, 1, 5, 30});
  prometheus::Family<prometheus::Counter>& actions = prometheus::BuildCounter()
                                                         .Name("nurture_actions_total")
                                                         .Help("Dispatched actions by outcome and connector")
                                                         .Register(registry);
  prometheus::Family<prometheus::Counter>& held = prometheus::BuildCounter()
                                                      .Name("nurture_connector_held_total")
                                                      .Help("Sends the engine held back (rate_limited, circuit_open)")
                                                      .Register(registry);
  prometheus::Gauge& store_up = prometheus::BuildGauge()
                                    .Name("nurture_store_up")
                                    .Help("1 when Redis answered the last call, else 0")
                                    .Register(registry)
                                    .Add({});
  prometheus::Family<prometheus::Counter>& store_errors = prometheus::BuildCounter()
                                                              .Name("nurture_store_errors_total")
                                                              .Help("Redis unavailable or refusing for now (down, "
                                                                    "timeout, OOM, READONLY, LOADING, ...), by loop; "
                                                                    "each was retried after a backoff")
                                                              .Register(registry);
  prometheus::Family<prometheus::Counter>& loop_errors = prometheus::BuildCounter()
                                                             .Name("nurture_loop_errors_total")
                                                             .Help("Unexpected errors a loop survived, by loop")
                                                             .Register(registry);
  std::atomic<bool> reachable{true};
  mutable std::mutex problem_mutex;
  std::string problem;
  std::atomic<bool> keep_samples{false};
  std::mutex samples_mutex;
  std::vector<std::chrono::milliseconds> samples;
};

Metrics::Metrics() : impl_(std::make_unique<Impl>()) { impl_->store_up.Set(1); }
Metrics::~Metrics() = default;

void Metrics::events_ingested(std::size_t count) { impl_->ingested.Increment(static_cast<double>(count)); }
void Metrics::events_dead_lettered(std::size_t count) { impl_->dead_lettered.Increment(static_cast<double>(count)); }
void Metrics::transitions_committed(std::size_t count) { impl_->committed.Increment(static_cast<double>(count)); }
void Metrics::commit_conflicts(std::size_t count) { impl_->conflicts.Increment(static_cast<double>(count)); }
void Metrics::timer_fired(std::chrono::milliseconds lateness) {
  impl_->lateness.Observe(static_cast<double>(lateness.count()) / 1000.0);
  if (impl_->keep_samples) {
    std::lock_guard lock(impl_->samples_mutex);
    impl_->samples.push_back(lateness);
  }
}

void Metrics::keep_lateness_samples(bool keep) { impl_->keep_samples = keep; }

std::vector<std::chrono::milliseconds> Metrics::lateness_samples() const {
  std::lock_guard lock(impl_->samples_mutex);
  return impl_->samples;
}
void Metrics::action_result(const std::string& outcome, const std::string& connector) {
  impl_->actions.Add({{"outcome", outcome}, {"connector", connector}}).Increment();
}
void Metrics::connector_held(const std::string& connector, const std::string& reason) {
  impl_->held.Add({{"connector", connector}, {"reason", reason}}).Increment();
}
void Metrics::store_reachable(bool reachable, const std::string& problem) {
  {
    std::lock_guard lock(impl_->problem_mutex);
    impl_->problem = reachable ? std::string() : problem;
  }
  impl_->reachable = reachable;
  impl_->store_up.Set(reachable ? 1 : 0);
}
bool Metrics::store_is_reachable() const { return impl_->reachable; }
std::string Metrics::store_problem() const {
  std::lock_guard lock(impl_->problem_mutex);
  return impl_->problem;
}
void Metrics::store_error(const std::string& loop) { impl_->store_errors.Add({{"loop", loop}}).Increment(); }
void Metrics::loop_error(const std::string& loop) { impl_->loop_errors.Add({{"loop", loop}}).Increment(); }

std::string Metrics::render() const {
  return prometheus::TextSerializer().Serialize(impl_->registry.Collect());
}

}  // namespace nurture::engine
