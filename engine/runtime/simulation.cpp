// The simulation keeps leads and timers in the memory store and commits each transition there, as the daemon does
// in Redis. The clock jumps from one due thing (event or timer) to the next, so a 30-day drip for many leads costs
// only the steps it runs.

#include "engine/runtime/simulation.hpp"

#include <algorithm>
#include <sstream>

#include <fmt/format.h>

namespace nurture::engine {

namespace {
constexpr auto default_horizon = std::chrono::hours(24 * 400);
}

Expected<std::vector<Event>> read_event_lines(const std::string& text, const std::string& name) {
  std::vector<Event> events;
  std::istringstream in(text);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto read = fields_from_json_object(line);
    const SourceLocation where{name, number};
    if (!read) return fail(fmt::format("not a JSON object ({})", read.error()), where, "one event per line");
    StreamFields& fields = *read;
    if (!fields.count("at")) return fail("missing field `at`", where, "\"at\":\"2026-03-02T09:00:00Z\"");
    auto event = parse_event(fields, "0-0");
    if (!event) return fail(event.error(), where);
    events.push_back(std::move(*event));
  }
  return events;
}

// One partition: nothing runs beside the simulation, so nothing is gained by spreading its leads.
Simulation::Simulation(const workflows::Campaign& campaign)
    : store_(clock_, memory::MemoryStoreOptions{1, "simulation", std::chrono::hours(24)}), interpreter_(campaign) {}

// One decision at `at`, committed like the daemon commits it. Nothing else writes to this store, so the commit
// cannot meet a newer version of the lead.
template <typename Decide>
void Simulation::apply(const std::string& lead, TimePoint at, Decide decide, std::vector<TimelineEntry>& timeline) {
  clock_.set(at);
  const LeadSnapshot before = store_.load_lead(lead);
  const Transition transition = decide(before);
  if (store_.commit(before, transition, "", "") != CommitOutcome::committed) {
    throw std::logic_error("the simulation's store refused a commit for " + lead);
  }
  timeline.insert(timeline.end(), transition.timeline.begin(), transition.timeline.end());
}

std::vector<TimelineEntry> Simulation::run(std::vector<Event> events, const SimulationOptions& options) {
  std::stable_sort(events.begin(), events.end(), [](const Event& a, const Event& b) { return a.at < b.at; });
  std::vector<TimelineEntry> timeline;
  if (events.empty() && !options.start) return timeline;
  const TimePoint start = options.start.value_or(events.front().at);
  const TimePoint until = options.until.value_or(start + default_horizon);

  std::size_t next_event = 0;
  while (true) {
    const bool have_event = next_event < events.size() && events[next_event].at <= until;
    const std::optional<TimePoint> timer_due = store_.next_timer_due();
    const bool have_timer = timer_due && *timer_due <= until;
    if (!have_event && !have_timer) break;
    if (have_timer && (!have_event || *timer_due <= events[next_event].at)) {
      // The earliest timer: at one instant, in (lead, workflow) order.
      const TimerRef timer = store_.due_timers(*timer_due, 1).front();
      const TimePoint at = std::max(timer.due, start);
      apply(timer.lead, at, [&](const LeadSnapshot& lead) { return interpreter_.fire_timer(lead, timer, at); },
            timeline);
    } else {
      const Event& event = events[next_event++];
      const TimePoint at = std::max(event.at, start);
      apply(event.lead, at, [&](const LeadSnapshot& lead) { return interpreter_.apply_event(lead, event, at); },
            timeline);
    }
  }
  sort_timeline(timeline);
  return timeline;
}

}  // namespace nurture::engine
