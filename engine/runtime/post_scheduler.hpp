#pragma once
// Scheduled posts (posts/*.yaml) into the outbox when their time comes: one action per post and connector, queued
// once whatever the number of engines or restarts (the store's queue_post is idempotent), then sent, retried and
// recorded by the dispatcher like any action. A post first seen more than a day after its time is passed over
// (state `k:late`) rather than published stale, say when a calendar with past entries is deployed.

#include <chrono>
#include <set>
#include <string>

#include <nurture/sdk/connector.hpp>

#include "engine/core/clock.hpp"
#include "engine/store/store.hpp"
#include "workflows/campaign.hpp"

namespace nurture::engine {

inline constexpr const char* posts_workflow = "~posts";  // the counters of scheduled posts (no workflow id has `~`)
inline constexpr std::chrono::hours max_post_lateness{24};

class PostScheduler {
 public:
  PostScheduler(Store& store, const workflows::Campaign& campaign, const Clock& clock)
      : store_(store), campaign_(campaign), clock_(clock) {}

  // Queues what is due, looking about once a second of the Clock; returns how many it queued.
  int poll();

 private:
  Store& store_;
  const workflows::Campaign& campaign_;
  const Clock& clock_;
  std::set<std::string> queued_;  // post:connector handed to the store by this engine
  TimePoint last_look_{};
};

// `nurture validate` and the daemon's start: each post rendered (as for no lead) fits every network it goes to
// (ConnectorFactory::max_post_length), and renders at all.
workflows::Diagnostics check_posts(const workflows::Campaign& campaign, const sdk::Registry& registry);

// The action that publishes `post` on `connector`.
PlannedAction post_action(const workflows::ScheduledPost& post, const std::string& connector);

}  // namespace nurture::engine
