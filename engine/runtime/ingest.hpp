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

  // Handles one batch (waiting up to `block` for one to arrive); returns how many entries it handled.
  int poll(std::chrono::milliseconds block);

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
