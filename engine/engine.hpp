#pragma once
// One pass of the engine: ingest, timers, dispatch. The daemon runs passes on the real clock; tests run them on
// a virtual clock against a real Redis.

#include <chrono>

#include "engine/clock.hpp"
#include "engine/connector_set.hpp"
#include "engine/dispatcher.hpp"
#include "engine/ingest.hpp"
#include "engine/interpreter.hpp"
#include "engine/scheduler.hpp"
#include "engine/store/store.hpp"
#include "templates/template_library.hpp"
#include "workflows/campaign.hpp"

namespace nurture::engine {

class Engine {
 public:
  Engine(Store& store, const workflows::Campaign& campaign, const templates::TemplateLibrary& templates,
         const ConnectorSet& connectors, const Clock& clock, RetryPolicy retry = {})
      : interpreter_(campaign),
        ingest_(store, interpreter_, clock),
        scheduler_(store, interpreter_, clock),
        dispatcher_(store, campaign, templates, connectors, clock, retry) {}

  // Returns how much work the pass did. `block`: how long ingest may wait for new events.
  int run_once(std::chrono::milliseconds block = std::chrono::milliseconds(0)) {
    int work = ingest_.poll(block);
    work += scheduler_.poll();
    work += dispatcher_.poll();
    return work;
  }

  // Passes until nothing is left to do at the clock's current time.
  void drain() {
    while (run_once() > 0) {
    }
  }

 private:
  Interpreter interpreter_;
  Ingest ingest_;
  Scheduler scheduler_;
  Dispatcher dispatcher_;
};

}  // namespace nurture::engine
