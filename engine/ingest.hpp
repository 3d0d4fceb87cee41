#pragma once
// Ingest: front-door events -> interpreter -> atomic commit -> acknowledge.

#include <chrono>
#include <functional>

#include "engine/clock.hpp"
#include "engine/interpreter.hpp"
#include "engine/store/store.hpp"

namespace nurture::engine {

class Ingest {
 public:
  Ingest(Store& store, const Interpreter& interpreter, const Clock& clock)
      : store_(store), interpreter_(interpreter), clock_(clock) {}

  // Handles one batch (waiting up to `block` for one to arrive); returns how many entries it handled.
  int poll(std::chrono::milliseconds block);

 private:
  void apply(const StreamEntry& entry, const Event& event);

  Store& store_;
  const Interpreter& interpreter_;
  const Clock& clock_;
};

// Runs `compute` on a fresh snapshot and commits, again while the lead changed underneath (compare-and-set).
CommitOutcome commit_with_retry(Store& store, const std::string& lead,
                                const std::function<Transition(const LeadSnapshot&)>& compute,
                                const std::string& stream_id = {}, const std::string& event_id = {});

}  // namespace nurture::engine
