#pragma once
// Ingest: front-door events -> interpreter -> atomic commit -> acknowledge.

#include <chrono>

#include "engine/core/clock.hpp"
#include "engine/runtime/metrics.hpp"
#include "engine/core/interpreter.hpp"
#include "engine/store/store.hpp"

namespace nurture::engine {

class Ingest {
 public:
  Ingest(Store& store, const Interpreter& interpreter, const Clock& clock)
      : store_(store), interpreter_(interpreter), clock_(clock) {}

  // A batch of events takes milliseconds (about 10 us each); the state loop looks at timers before and after one.
  static constexpr int full_batch = 512;
  // While timers are firing, a timer that falls due during a batch waits for all of it: a shorter batch keeps that
  // wait short, at some cost in round trips per event, paid only while timers fire.
  static constexpr int batch_while_timers_fire = 128;

  // Handles one batch of up to `max_entries` (waiting up to `block` for one to arrive); returns how many entries
  // it handled.
  int poll(std::chrono::milliseconds block, int max_entries = full_batch);

  void set_metrics(Metrics* metrics) { metrics_ = metrics; }

 private:
  void handle(const std::vector<StreamEntry>& entries);
  void dead_letter(const StreamEntry& entry, const std::string& reason);

  Metrics* metrics_ = nullptr;
  Store& store_;
  const Interpreter& interpreter_;
  const Clock& clock_;
};

}  // namespace nurture::engine
