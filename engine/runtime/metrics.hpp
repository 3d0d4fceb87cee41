#pragma once
// The engine's metrics (Prometheus): what ops graph and alert on. Components record into it; the status server
// renders it. A null Metrics* means "not measured" (tests, simulate).

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace nurture::engine {

class Metrics {
 public:
  Metrics();
  ~Metrics();

  void events_ingested(std::size_t count);
  void events_dead_lettered(std::size_t count);
  void transitions_committed(std::size_t count);
  void commit_conflicts(std::size_t count);
  void timer_fired(std::chrono::milliseconds lateness);
  // sent, failed, suppressed, skipped, retry; per connector instance
  void action_result(const std::string& outcome, const std::string& connector);
  // A send the engine held back: rate_limited or circuit_open.
  void connector_held(const std::string& connector, const std::string& reason);
  // `problem`: why Redis is not usable now (its error), which /readyz shows.
  void store_reachable(bool reachable, const std::string& problem = {});
  bool store_is_reachable() const;
  std::string store_problem() const;
  void store_error(const std::string& loop);  // a StoreUnavailable a loop backed off from
  void loop_error(const std::string& loop);   // any other exception a loop survived

  // Keeps every timer lateness as well (benchmarks want exact percentiles, not buckets).
  void keep_lateness_samples(bool keep);
  std::vector<std::chrono::milliseconds> lateness_samples() const;

  // The Prometheus text exposition format.
  std::string render() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nurture::engine
