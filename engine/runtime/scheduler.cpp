// Timers are members of each partition's timer ZSET, scored by due time in ms; nothing is held only in memory, so
// a restart resumes them. Firing is a transition like any other: the timer's removal commits together with its
// effects, and a timer whose enrollment moved on (its seq no longer matches) is removed as a no-op. Lateness
// (now - due) depends on the poll interval of the run loop. A paused workflow's timers are held when they fall due
// and fire when it resumes, late, in the order they fell due.

#include "engine/runtime/scheduler.hpp"

#include <spdlog/spdlog.h>

#include "engine/runtime/batch_commit.hpp"

namespace nurture::engine {

namespace {
constexpr int batch_size = 256;
// A poll fires batches (up to batch_size a partition) while one comes back with at least batch_size timers, up to
// this many: timers that fell due together fire before the run loop reads its next batch of events (which would
// make them later by that batch's length); the bound leaves ingest its turn under a backlog of timers.
constexpr int max_batches_per_poll = 4;
}  // namespace

int Scheduler::poll() {
  int fired = 0;
  for (int batch = 0; batch < max_batches_per_poll; ++batch) {
    const int count = fire_batch();
    fired += count;
    if (count < batch_size) break;
  }
  return fired;
}

int Scheduler::fire_batch() {
  const TimePoint now = clock_.now();
  if (partitions_.empty() && partition_count_known_) return 0;  // no partition of ours (more engines than them)
  store_.release_due_retries(now, partitions_);
  std::vector<TimerRef> due = store_.due_timers(now, batch_size, partitions_);
  if (due.empty()) return 0;
  if (paused_ && paused_->any()) {
    // Due timers of a paused workflow are set aside with their due times; a resume puts them back to fire.
    std::vector<TimerRef> held;
    std::erase_if(due, [&](const TimerRef& timer) {
      if (!paused_->contains(timer.workflow)) return false;
      held.push_back(timer);
      return true;
    });
    if (!held.empty()) store_.hold_timers(held);
    if (due.empty()) return static_cast<int>(held.size());
  }
  std::vector<WorkItem> work;
  work.reserve(due.size());
  for (const auto& timer : due) {
    work.push_back({timer.lead, [this, &timer, now](const LeadSnapshot& lead) {
                      return interpreter_.fire_timer(lead, timer, now);
                    }});
  }
  const auto results = commit_batch(store_, work, metrics_);
  if (metrics_) {
    for (const auto& timer : due) {
      metrics_->timer_fired(std::chrono::duration_cast<std::chrono::milliseconds>(now - timer.due));
    }
  }
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (!results[i].failed) continue;
    // Left in place it would fail again on every pass: quarantined, like a poison event.
    spdlog::error("timer {}/{} failed and is dead-lettered: {}", due[i].lead, due[i].workflow, results[i].error);
    store_.dead_letter_timer(due[i], "engine error: " + results[i].error);
  }
  return static_cast<int>(due.size());
}

}  // namespace nurture::engine
