#pragma once
// `nurture simulate`: a campaign on a virtual clock, against events from a file, dispatching nothing. The same
// interpreter as the daemon, on the memory store: only the store and the clock differ.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <tl/expected.hpp>

#include "engine/core/clock.hpp"
#include "engine/core/event.hpp"
#include "engine/core/interpreter.hpp"
#include "engine/core/lead.hpp"
#include "engine/core/timeline.hpp"
#include "engine/store/memory/memory_store.hpp"
#include "nurture/error.hpp"

namespace nurture::engine {

// Reads JSON Lines events (the fields of docs/events.md, `at` required). Errors name the file (`name`) and the
// line: `events.jsonl:3: error: missing field `lead``.
Expected<std::vector<Event>> read_event_lines(const std::string& text, const std::string& name);

struct SimulationOptions {
  std::optional<TimePoint> start;  // default: the first event's `at`
  std::optional<TimePoint> until;  // default: until nothing is pending, at most 400 days after start
  bool explain = false;            // add decision, deferred and score lines (Interpreter::explain)
};

class Simulation {
 public:
  // `threads`: how many leads' shares run at once (0: one per core). Leads never affect each other in a
  // simulation, so the timeline is the same whatever the number.
  explicit Simulation(const workflows::Campaign& campaign, unsigned threads = 0);
  ~Simulation();

  // Runs the events (in `at` order; the input order among equal times) and every timer they lead to. At one
  // instant, timers due then fire before events at that instant.
  std::vector<TimelineEntry> run(std::vector<Event> events, const SimulationOptions& options);

  std::map<std::string, LeadSnapshot> leads() const;
  // Every action the run planned (what the daemon would have put in its outbox).
  std::vector<PlannedAction> actions() const;

 private:
  std::vector<TimelineEntry> with_posts(std::vector<TimelineEntry> timeline, TimePoint start, TimePoint until) const;
  class Share;  // some of the leads: their clock, store and interpreter

  const workflows::Campaign& campaign_;
  unsigned threads_;
  std::vector<std::unique_ptr<Share>> shares_;
};

}  // namespace nurture::engine
