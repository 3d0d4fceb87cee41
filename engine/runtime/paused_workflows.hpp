#pragma once
// The workflows paused now (`nurture workflow pause`), as the store says, shared by an engine's threads: ingest
// asks before a trigger enrolls, the scheduler before a timer fires, the dispatcher before an action is sent. The
// store is asked again at most every quarter second of the Clock, so a pause made elsewhere (the command line, the
// admin API, another engine) takes hold within that; holding checks the store itself, atomically, so nothing is
// stranded by a resume in between.

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <string>

#include "engine/core/clock.hpp"
#include "engine/store/store.hpp"

namespace nurture::engine {

class PausedWorkflows {
 public:
  explicit PausedWorkflows(const Clock& clock) : clock_(clock) {}

  bool contains(const std::string& workflow) const {
    if (!any_.load(std::memory_order_acquire)) return false;
    std::lock_guard lock(mutex_);
    return paused_.count(workflow) > 0;
  }
  bool any() const { return any_.load(std::memory_order_acquire); }

  // Reads the store when the last read is older than the refresh interval (or `now` is true).
  void refresh(Store& store, bool now = false);

 private:
  static constexpr std::chrono::milliseconds interval{250};
  const Clock& clock_;
  mutable std::mutex mutex_;
  std::set<std::string> paused_;
  std::atomic<bool> any_{false};
  std::atomic<std::int64_t> read_at_ms_{0};
  bool read_once_ = false;
};

}  // namespace nurture::engine
