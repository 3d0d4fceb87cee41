#pragma once
// One pass of the engine: ingest, timers, dispatch. The daemon runs passes on the real clock; tests run them on
// a virtual clock against a real Redis.

#include <algorithm>
#include <chrono>

#include "engine/core/clock.hpp"
#include "engine/runtime/broadcast_scheduler.hpp"
#include "engine/runtime/connector_set.hpp"
#include "engine/runtime/dispatcher.hpp"
#include "engine/runtime/ingest.hpp"
#include "engine/runtime/paused_workflows.hpp"
#include "engine/runtime/post_scheduler.hpp"
#include "engine/core/interpreter.hpp"
#include "engine/runtime/scheduler.hpp"
#include "engine/store/store.hpp"
#include "templates/template_library.hpp"
#include "workflows/campaign.hpp"

namespace nurture::engine {

class Engine {
 public:
  Engine(Store& store, const workflows::Campaign& campaign, const templates::TemplateLibrary& templates,
         const ConnectorSet& connectors, const Clock& clock, RetryPolicy retry = {})
      : Engine(store, store, campaign, templates, connectors, clock, WorkflowVersions::of(campaign.workflows),
               retry) {}

  // With a store (connection) of its own for dispatch, so that dispatch can run on a thread of its own: see
  // run_state_once() and run_dispatch_once().
  Engine(Store& state_store, Store& dispatch_store, const workflows::Campaign& campaign,
         const templates::TemplateLibrary& templates, const ConnectorSet& connectors, const Clock& clock,
         WorkflowVersions versions, RetryPolicy retry = {})
      : clock_(clock),
        state_store_(state_store),
        dispatch_store_(dispatch_store),
        interpreter_(campaign, std::move(versions)),
        ingest_(state_store, interpreter_, clock),
        scheduler_(state_store, interpreter_, clock),
        dispatcher_(dispatch_store, campaign, templates, connectors, clock, retry),
        posts_(state_store, campaign, clock),
        broadcasts_(state_store, interpreter_, clock),
        paused_(clock) {
    // An outcome's event (email.sent, ...) is raised only when something in the campaign looks at it.
    dispatcher_.set_listener([this](const std::string& type) { return interpreter_.listens_to(type); });
    interpreter_.set_paused([this](const std::string& workflow) { return paused_.contains(workflow); });
    scheduler_.set_paused(&paused_);
    dispatcher_.set_paused(&paused_);
    broadcasts_.set_paused(&paused_);
  }

  // The two halves, for two threads: lead state (ingest and timers), and dispatch. Each blocks up to `block`
  // for new work.
  int run_state_once(std::chrono::milliseconds block) {
    trim_now_and_then();
    paused_.refresh(state_store_);
    // Timers before ingest, and again after a batch of events (up to 512 take milliseconds): a timer falling due
    // meanwhile should not wait for that batch and then the next one as well. While timers fire, the batch is
    // shorter, for the same reason. After an empty ingest the next pass's first look comes at once, so a second
    // look would only add round trips.
    int work = scheduler_.poll();
    const int ingested = work > 0 ? ingest_.poll(std::chrono::milliseconds(0), Ingest::batch_while_timers_fire)
                                  : ingest_.poll(block);
    if (ingested > 0) work += ingested + scheduler_.poll();
    return work + posts_.poll() + broadcasts_.poll();
  }
  int run_dispatch_once(std::chrono::milliseconds block) {
    reclaim_outbox_now_and_then();
    return dispatcher_.poll(block);
  }

  // Returns how much work the pass did. `block`: how long ingest may wait for new events.
  int run_once(std::chrono::milliseconds block = std::chrono::milliseconds(0)) {
    reclaim_outbox_now_and_then();
    trim_now_and_then();
    paused_.refresh(state_store_);
    int work = ingest_.poll(block);
    work += scheduler_.poll();
    work += posts_.poll();
    work += broadcasts_.poll();
    work += dispatcher_.poll();
    return work;
  }

  void set_metrics(Metrics* metrics) {
    ingest_.set_metrics(metrics);
    scheduler_.set_metrics(metrics);
    broadcasts_.set_metrics(metrics);
    dispatcher_.set_metrics(metrics);
  }

  // How long another consumer may hold an entry unacknowledged before this engine takes it over (the lease).
  void set_reclaim_after(std::chrono::milliseconds idle) { reclaim_idle = idle; }

  // Reads which workflows are paused now, not at the next refresh (tests, after pausing through the store).
  void refresh_paused() { paused_.refresh(state_store_, true); }

  // Passes until nothing is left to do at the clock's current time.
  void drain() {
    while (run_once() > 0) {
    }
  }

 private:
  // Streams are trimmed of what every consumer is done with about once a second (a few commands each time), and
  // entries a dead consumer held for longer than `reclaim_idle` are taken over about every ten. Seconds of the
  // Clock: a test moves them on with its virtual clock instead of sleeping.
  void trim_now_and_then() {
    const TimePoint now = clock_.now();
    if (now - last_trim_ < std::chrono::seconds(1)) return;
    last_trim_ = now;
    state_store_.trim_streams();
    serve_my_partitions();
    if (now - last_events_reclaim_ >= std::min<std::chrono::milliseconds>(reclaim_idle, std::chrono::seconds(10))) {
      last_events_reclaim_ = now;
      report_takeover("events", state_store_.reclaim_events(reclaim_idle));
    }
  }
  void reclaim_outbox_now_and_then() {
    const TimePoint now = clock_.now();
    if (now - last_outbox_reclaim_ < std::min<std::chrono::milliseconds>(reclaim_idle, std::chrono::seconds(10))) return;
    last_outbox_reclaim_ = now;
    report_takeover("actions", dispatch_store_.reclaim_outbox(reclaim_idle));
  }

  // Partition p's timers are served by the live engine at p mod (number of live engines), in name order.
  void serve_my_partitions() {
    const std::vector<std::string> live = state_store_.heartbeat(reclaim_idle, clock_.now());
    const auto me = std::find(live.begin(), live.end(), state_store_.consumer());
    if (me == live.end()) return;
    const std::size_t index = static_cast<std::size_t>(me - live.begin());
    std::vector<int> mine;
    for (int p = 0; p < state_store_.partitions(); ++p) {
      if (static_cast<std::size_t>(p) % live.size() == index) mine.push_back(p);
    }
    broadcasts_.set_partitions(mine, static_cast<int>(live.size()));
    scheduler_.set_partitions(std::move(mine));
  }

  static void report_takeover(const char* what, int count);
  std::chrono::milliseconds reclaim_idle{60000};
  const Clock& clock_;
  Store& state_store_;
  Store& dispatch_store_;
  TimePoint last_trim_{};  // in the past: the first pass claims its partitions
  // In the past, so the first pass takes over what a crashed predecessor left.
  TimePoint last_events_reclaim_{};
  TimePoint last_outbox_reclaim_{};
  Interpreter interpreter_;
  Ingest ingest_;
  Scheduler scheduler_;
  Dispatcher dispatcher_;
  PostScheduler posts_;
  BroadcastScheduler broadcasts_;
  PausedWorkflows paused_;
};

}  // namespace nurture::engine
