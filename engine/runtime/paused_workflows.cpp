#include "engine/runtime/paused_workflows.hpp"

namespace nurture::engine {

void PausedWorkflows::refresh(Store& store, bool now) {
  const std::int64_t at = to_unix_ms(clock_.now());
  if (!now && read_once_ && at - read_at_ms_.load() < interval.count() && at >= read_at_ms_.load()) return;
  std::set<std::string> paused;
  for (auto& [workflow, since] : store.paused_workflows()) paused.insert(workflow);
  std::lock_guard lock(mutex_);
  paused_ = std::move(paused);
  any_.store(!paused_.empty(), std::memory_order_release);
  read_at_ms_.store(at);
  read_once_ = true;
}

}  // namespace nurture::engine
