#pragma once
// Committing many transitions with few round trips: the leads of a batch are read in one pipeline, their
// transitions computed, and committed in another, each still atomic and compare-and-set on its own. Work for the
// same lead is done in order: each item is computed from the state the one before leaves, all in the same calls.

#include <functional>
#include <string>
#include <vector>

#include "engine/runtime/metrics.hpp"
#include "engine/store/store.hpp"

namespace nurture::engine {

struct WorkItem {
  std::string lead;
  std::function<Transition(const LeadSnapshot&)> compute;
  std::string stream_id;  // the front-door entry it applies, if any
  std::string event_id;   // the producer's idempotency key, if any
  bool from_inbox = false;
  int front_door = 0;  // which front-door stream (events.streams), when not from an inbox
};

struct WorkResult {
  bool failed = false;  // computing it threw: `error` says why (a bug or bad data; the item is not committed)
  std::string error;
  CommitOutcome outcome = CommitOutcome::committed;
};

// Results in the order of `items`. StoreUnavailable propagates: then some items may be committed and others not,
// which is safe, since every commit is idempotent for its event or timer.
std::vector<WorkResult> commit_batch(Store& store, const std::vector<WorkItem>& items, Metrics* metrics = nullptr);

}  // namespace nurture::engine
