// Timers are members of each partition's timer ZSET, scored by due time in ms; nothing is held only in memory, so
// a restart resumes them. Firing is a transition like any other: the timer's removal commits together with its
// effects, and a timer whose enrollment moved on (its seq no longer matches) is removed as a no-op. Lateness
// (now - due) depends on the poll interval of the run loop.

#include "engine/scheduler.hpp"

#include <spdlog/spdlog.h>

#include "engine/ingest.hpp"

namespace nurture::engine {

namespace {
constexpr int batch_size = 256;
}

int Scheduler::poll() {
  const TimePoint now = clock_.now();
  store_.release_due_retries(now);
  const std::vector<TimerRef> due = store_.due_timers(now, batch_size);
  for (const auto& timer : due) {
    try {
      commit_with_retry(store_, timer.lead,
                        [&](const LeadSnapshot& lead) { return interpreter_.fire_timer(lead, timer, now); });
    } catch (const StoreUnavailable&) {
      throw;
    } catch (const std::exception& e) {
      spdlog::error("timer {}/{} failed: {}", timer.lead, timer.workflow, e.what());
    }
  }
  return static_cast<int>(due.size());
}

}  // namespace nurture::engine
