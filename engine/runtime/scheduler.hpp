#pragma once
// The scheduler fires due timers (durable waits) and releases due dispatch retries back into the outbox.

#include <vector>

#include "engine/core/clock.hpp"
#include "engine/runtime/metrics.hpp"
#include "engine/runtime/paused_workflows.hpp"
#include "engine/core/interpreter.hpp"
#include "engine/store/store.hpp"

namespace nurture::engine {

class Scheduler {
 public:
  Scheduler(Store& store, const Interpreter& interpreter, const Clock& clock)
      : store_(store), interpreter_(interpreter), clock_(clock) {}

  // Fires what is due now; returns how many timers it fired (or held, for a paused workflow).
  int poll();

  void set_metrics(Metrics* metrics) { metrics_ = metrics; }
  // Timers of these workflows are held, not fired, while they are paused.
  void set_paused(const PausedWorkflows* paused) { paused_ = paused; }
  // The partitions whose timers this engine serves (all until told otherwise).
  void set_partitions(std::vector<int> partitions) {
    partitions_ = std::move(partitions);
    partition_count_known_ = true;
  }

 private:
  int fire_batch();

  Metrics* metrics_ = nullptr;
  const PausedWorkflows* paused_ = nullptr;
  std::vector<int> partitions_;
  bool partition_count_known_ = false;
  Store& store_;
  const Interpreter& interpreter_;
  const Clock& clock_;
};

}  // namespace nurture::engine
