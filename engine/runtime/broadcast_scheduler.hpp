#pragma once
// Broadcasts (broadcasts/*.yaml) in the daemon. At a broadcast's time the engine plans the sends to the leads of
// its partitions then in the segment and not yet given it (engine/core/broadcast_plan), and as each falls due
// commits Interpreter::send_broadcast for that lead, like a timer firing. The lead's own state says it was given
// the broadcast, atomically with the queued action, so a restart, a reload or another engine re-planning sends
// nobody a broadcast twice. With a split, the winner is picked once (store meta `broadcast:ID:winner`) when the
// first engine reaches the moment every engine reads from `broadcast:ID:decide`, and the rest is planned then.
// `nurture broadcast cancel` pauses the broadcast's workflow id `~b:ID`: nothing more is planned, and what was
// queued is held by the dispatcher and never sent.

#include <map>
#include <string>
#include <vector>

#include "engine/core/broadcast_plan.hpp"
#include "engine/core/clock.hpp"
#include "engine/core/interpreter.hpp"
#include "engine/runtime/metrics.hpp"
#include "engine/runtime/paused_workflows.hpp"
#include "engine/store/store.hpp"

namespace nurture::engine {

// A broadcast first seen more than this after its last send time is passed over, not sent stale.
inline constexpr std::chrono::hours max_broadcast_lateness{24};

class BroadcastScheduler {
 public:
  BroadcastScheduler(Store& store, const Interpreter& interpreter, const Clock& clock)
      : store_(store), interpreter_(interpreter), clock_(clock) {}

  // The partitions this engine serves, and how many engines share them (the throttle's share). A change of
  // either plans again.
  void set_partitions(std::vector<int> partitions, int engines);
  void set_paused(const PausedWorkflows* paused) { paused_ = paused; }
  void set_metrics(Metrics* metrics) { metrics_ = metrics; }

  // Plans what has come due (about once a second of the Clock) and sends what is due; returns how many sends.
  int poll();

 private:
  struct Progress {
    BroadcastPart part = BroadcastPart::first;
    std::vector<BroadcastSend> sends;
    std::size_t next = 0;
  };
  void plan(const workflows::Broadcast& broadcast, TimePoint now);
  int send_due(const workflows::Broadcast& broadcast, Progress& progress, TimePoint now);
  std::vector<BroadcastRecipient> recipients(const workflows::Broadcast& broadcast);
  TimePoint decision_time(const workflows::Broadcast& broadcast, const std::vector<BroadcastSend>& test_sends,
                          TimePoint now);
  int winner(const workflows::Broadcast& broadcast);
  void mark_sent(const workflows::Broadcast& broadcast, TimePoint now);

  Store& store_;
  const Interpreter& interpreter_;
  const Clock& clock_;
  const PausedWorkflows* paused_ = nullptr;
  Metrics* metrics_ = nullptr;
  std::vector<int> partitions_;
  bool all_partitions_ = true;
  int engines_ = 1;
  std::map<std::string, Progress> progress_;  // by broadcast id: the part this engine is sending
  TimePoint last_look_{};
};

}  // namespace nurture::engine
