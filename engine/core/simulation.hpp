#pragma once
// `nurture simulate`: a campaign on a virtual clock, against events from a file, dispatching nothing. The same
// interpreter as the daemon; only the store (in memory here) and the clock differ.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

#include "engine/core/event.hpp"
#include "engine/core/interpreter.hpp"
#include "engine/core/lead.hpp"

namespace nurture::engine {

// Reads JSON Lines events (the fields of docs/events.md, `at` required). Errors name the
// line: `events.jsonl:3: missing field `lead``.
tl::expected<std::vector<Event>, std::string> read_event_lines(const std::string& text, const std::string& name);

struct SimulationOptions {
  std::optional<TimePoint> start;  // default: the first event's `at`
  std::optional<TimePoint> until;  // default: until nothing is pending, at most 400 days after start
};

class Simulation {
 public:
  explicit Simulation(const workflows::Campaign& campaign) : interpreter_(campaign) {}

  // Runs the events (in `at` order; the input order among equal times) and every timer they lead to. At one
  // instant, timers due then fire before events at that instant.
  std::vector<TimelineEntry> run(std::vector<Event> events, const SimulationOptions& options);

  const std::map<std::string, LeadSnapshot>& leads() const { return leads_; }
  // Every action the run planned (what the daemon would have put in its outbox).
  const std::vector<PlannedAction>& actions() const { return actions_; }

 private:
  void commit(const Transition& transition, std::vector<TimelineEntry>& timeline);

  Interpreter interpreter_;
  std::map<std::string, LeadSnapshot> leads_;
  std::vector<PlannedAction> actions_;
  std::set<std::pair<std::int64_t, std::string>> timers_;  // (due ms, member): due order, then (lead, workflow)
  std::unordered_map<std::string, std::int64_t> timer_due_;  // member -> due ms, to remove a timer by name
};

// Timeline order: by `at`, lines without a lead first, then by lead id, then as they happened.
void sort_timeline(std::vector<TimelineEntry>& timeline);
nlohmann::ordered_json timeline_json(const TimelineEntry& entry);
std::string timeline_table(const std::vector<TimelineEntry>& timeline);
// People's summary (stderr): leads, actions per workflow step, goals.
std::string timeline_summary(const std::vector<TimelineEntry>& timeline);

}  // namespace nurture::engine
