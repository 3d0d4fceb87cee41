#pragma once
// `nurture simulate`: a campaign on a virtual clock, against events from a file, dispatching nothing. The same
// interpreter as the daemon, on the memory store: only the store and the clock differ.

#include <map>
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
};

class Simulation {
 public:
  explicit Simulation(const workflows::Campaign& campaign);

  // Runs the events (in `at` order; the input order among equal times) and every timer they lead to. At one
  // instant, timers due then fire before events at that instant.
  std::vector<TimelineEntry> run(std::vector<Event> events, const SimulationOptions& options);

  const std::map<std::string, LeadSnapshot>& leads() const { return store_.leads(); }
  // Every action the run planned (what the daemon would have put in its outbox).
  std::vector<PlannedAction> actions() const { return store_.outbox_actions(); }

 private:
  template <typename Decide>
  void apply(const std::string& lead, TimePoint at, Decide decide, std::vector<TimelineEntry>& timeline);

  VirtualClock clock_{TimePoint{}};
  memory::MemoryStore store_;
  Interpreter interpreter_;
};

}  // namespace nurture::engine
