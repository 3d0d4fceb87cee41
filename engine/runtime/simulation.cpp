// The simulation keeps leads and timers in the memory store and commits each transition there, as the daemon does
// in Redis. The clock jumps from one due thing (event or timer) to the next, so a 30-day drip for many leads costs
// only the steps it runs.

#include "engine/runtime/simulation.hpp"

#include <algorithm>
#include <exception>
#include <mutex>
#include <thread>
#include <sstream>

#include <fmt/format.h>

#include "engine/core/identity.hpp"

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

// Some of the leads, on their own clock and store: one partition, since nothing runs beside the simulation.
class Simulation::Share {
 public:
  Share(const workflows::Campaign& campaign, bool explain)
      : store_(clock_, memory::MemoryStoreOptions{1, "simulation", std::chrono::hours(24)}), interpreter_(campaign) {
    interpreter_.plan_lead_data(false);  // nothing is rendered
    interpreter_.explain(explain);
  }

  // The events (in `at` order) of this share's leads, and every timer they lead to; the timeline sorted.
  std::vector<TimelineEntry> run(const std::vector<const Event*>& events, TimePoint start, TimePoint until) {
    std::vector<TimelineEntry> timeline;
    // Lines are large: room for a handful per event up front saves moving them all as the vector grows (pages
    // reserved and never written cost nothing).
    timeline.reserve(events.size() * 8);
    std::size_t next_event = 0;
    while (true) {
      const bool have_event = next_event < events.size() && events[next_event]->at <= until;
      const std::optional<TimePoint> timer_due = store_.next_timer_due();
      const bool have_timer = timer_due && *timer_due <= until;
      if (!have_event && !have_timer) break;
      if (have_timer && (!have_event || *timer_due <= events[next_event]->at)) {
        // The earliest timer: at one instant, in (lead, workflow) order.
        const TimerRef timer = store_.due_timers(*timer_due, 1).front();
        const TimePoint at = std::max(timer.due, start);
        apply(timer.lead, at, [&](const LeadSnapshot& lead) { return interpreter_.fire_timer(lead, timer, at); },
              timeline);
      } else {
        const Event& event = *events[next_event++];
        const TimePoint at = std::max(event.at, start);
        apply(event.lead, at, [&](const LeadSnapshot& lead) { return interpreter_.apply_event(lead, event, at); },
              timeline);
      }
    }
    sort_timeline(timeline);
    return timeline;
  }

  const memory::MemoryStore& store() const { return store_; }

 private:
  // One decision at `at`, committed like the daemon commits it. Nothing else writes to this store, so the commit
  // cannot meet a newer version of the lead.
  template <typename Decide>
  void apply(const std::string& lead, TimePoint at, Decide decide, std::vector<TimelineEntry>& timeline) {
    clock_.set(at);
    LeadSnapshot never_stored;
    const LeadSnapshot* before = store_.stored_lead(lead);
    if (!before) {
      never_stored.id = lead;
      before = &never_stored;
    }
    Transition transition = decide(*before);
    std::vector<TimelineEntry> lines = std::move(transition.timeline);
    if (store_.commit(*before, std::move(transition)) != CommitOutcome::committed) {
      throw std::logic_error("the simulation's store refused a commit for " + lead);
    }
    timeline.insert(timeline.end(), std::make_move_iterator(lines.begin()), std::make_move_iterator(lines.end()));
  }

  VirtualClock clock_{TimePoint{}};
  memory::MemoryStore store_;
  Interpreter interpreter_;
};

Simulation::Simulation(const workflows::Campaign& campaign, unsigned threads) : campaign_(campaign), threads_(threads) {}

Simulation::~Simulation() = default;

std::vector<TimelineEntry> Simulation::run(std::vector<Event> events, const SimulationOptions& options) {
  std::stable_sort(events.begin(), events.end(), [](const Event& a, const Event& b) { return a.at < b.at; });
  if (events.empty() && !options.start) return {};
  const TimePoint start = options.start.value_or(events.front().at);
  const TimePoint until = options.until.value_or(start + default_horizon);

  // Leads are dealt to shares by their hash. Unless told how many, one share per core, but small runs stay on one
  // thread, where starting threads costs more than it saves.
  constexpr std::size_t events_per_share = 20000;
  const std::size_t count =
      threads_ > 0 ? threads_
                   : std::clamp<std::size_t>(events.size() / events_per_share, 1,
                                             std::max(1U, std::thread::hardware_concurrency()));
  shares_.clear();
  std::vector<std::vector<const Event*>> dealt(count);
  for (std::size_t s = 0; s < count; ++s) shares_.push_back(std::make_unique<Share>(campaign_, options.explain));
  for (const Event& event : events) {
    dealt[static_cast<std::size_t>(partition_of(event.lead, static_cast<int>(count)))].push_back(&event);
  }
  std::vector<std::vector<TimelineEntry>> timelines(count);
  std::vector<std::thread> workers;
  std::exception_ptr failure;
  std::mutex failure_mutex;
  for (std::size_t s = 1; s < count; ++s) {
    workers.emplace_back([&, s] {
      try {
        timelines[s] = shares_[s]->run(dealt[s], start, until);
      } catch (...) {
        std::lock_guard lock(failure_mutex);
        failure = std::current_exception();
      }
    });
  }
  timelines[0] = shares_[0]->run(dealt[0], start, until);
  for (auto& worker : workers) worker.join();
  if (failure) std::rethrow_exception(failure);

  // Each share's timeline is in order and no lead is in two shares: merging them gives the order of one run.
  std::vector<TimelineEntry> merged = std::move(timelines[0]);
  for (std::size_t s = 1; s < count; ++s) {
    std::vector<TimelineEntry> both;
    both.reserve(merged.size() + timelines[s].size());
    std::merge(std::make_move_iterator(merged.begin()), std::make_move_iterator(merged.end()),
               std::make_move_iterator(timelines[s].begin()), std::make_move_iterator(timelines[s].end()),
               std::back_inserter(both), timeline_before);
    merged = std::move(both);
  }
  return with_posts(std::move(merged), start, until);
}

// Scheduled posts within [start, until], one line per connector (no lead), merged in before the leads' lines of
// their instant.
std::vector<TimelineEntry> Simulation::with_posts(std::vector<TimelineEntry> timeline, TimePoint start,
                                                  TimePoint until) const {
  std::vector<TimelineEntry> posts;
  for (const auto& post : campaign_.posts) {
    if (post.at < start || post.at > until) continue;
    for (const auto& connector : post.connectors) {
      TimelineEntry line;
      line.at = post.at;
      line.kind = "post";
      line.post = post.id;
      line.connector = connector;
      posts.push_back(std::move(line));
    }
  }
  if (posts.empty()) return timeline;
  std::vector<TimelineEntry> both;
  both.reserve(timeline.size() + posts.size());
  std::merge(std::make_move_iterator(posts.begin()), std::make_move_iterator(posts.end()),
             std::make_move_iterator(timeline.begin()), std::make_move_iterator(timeline.end()),
             std::back_inserter(both), timeline_before);
  return both;
}

std::map<std::string, LeadSnapshot> Simulation::leads() const {
  std::map<std::string, LeadSnapshot> all;
  for (const auto& share : shares_) all.merge(share->store().leads());
  return all;
}

std::vector<PlannedAction> Simulation::actions() const {
  std::vector<PlannedAction> all;
  for (const auto& share : shares_) {
    auto some = share->store().outbox_actions();
    all.insert(all.end(), std::make_move_iterator(some.begin()), std::make_move_iterator(some.end()));
  }
  return all;
}

}  // namespace nurture::engine
