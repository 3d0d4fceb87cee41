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

#include "engine/core/broadcast_plan.hpp"
#include "engine/core/calendar.hpp"
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
    // reserved and never written cost nothing). The interpreter writes them here, not into each transition.
    timeline.reserve(events.size() * 8);
    interpreter_.timeline_into(&timeline);
    struct Unhook {
      Interpreter& interpreter;
      ~Unhook() { interpreter.timeline_into(nullptr); }
    } unhook{interpreter_};
    std::size_t next_event = 0;
    broadcasts_.start();
    while (true) {
      const bool have_event = next_event < events.size() && events[next_event]->at <= until;
      const std::optional<TimePoint> timer_due = store_.next_timer_due();
      const bool have_timer = timer_due && *timer_due <= until;
      const std::optional<TimePoint> broadcast_due = broadcasts_.next_due();
      const bool have_broadcast = broadcast_due && *broadcast_due <= until;
      if (!have_event && !have_timer && !have_broadcast) break;
      // At one instant: timers, then broadcasts, then events.
      if (have_broadcast && (!have_timer || *broadcast_due < *timer_due) &&
          (!have_event || *broadcast_due <= events[next_event]->at)) {
        broadcasts_.run_next(std::max(*broadcast_due, start), timeline);
      } else if (have_timer && (!have_event || *timer_due <= events[next_event]->at)) {
        // The earliest timer: at one instant, in (lead, workflow) order.
        const TimerRef timer = store_.due_timers(*timer_due, 1).front();
        const TimePoint at = std::max(timer.due, start);
        apply(timer.lead, at,
              [&](LeadSnapshot&& lead) { return interpreter_.fire_timer(std::move(lead), timer, at); });
      } else {
        const Event& event = *events[next_event++];
        const TimePoint at = std::max(event.at, start);
        apply(event.lead, at,
              [&](LeadSnapshot&& lead) { return interpreter_.apply_event(std::move(lead), event, at); });
      }
    }
    sort_timeline(timeline);
    return timeline;
  }

  const memory::MemoryStore& store() const { return store_; }

 private:
  // The campaign's broadcasts on the virtual clock, as the daemon's scheduler sends them: at its time the first
  // part is planned over the leads then in the segment, each send then asks the interpreter; with a split the
  // winner is picked `wait` after the last test send, from the counts so far, and the rest planned.
  class Broadcasts {
   public:
    explicit Broadcasts(Share& share) : share_(share) {}

    void start() {
      const auto& campaign = share_.interpreter_.campaign();
      for (std::size_t b = 0; b < campaign.broadcasts.size(); ++b) {
        work_.push_back({broadcast_opens(campaign.broadcasts[b], campaign.config.default_timezone),
                         Work::first_part, b, {}});
      }
      sort();
    }

    std::optional<TimePoint> next_due() const {
      return work_.empty() ? std::nullopt : std::optional<TimePoint>(work_.back().at);
    }

    void run_next(TimePoint at, std::vector<TimelineEntry>& timeline) {
      const Work work = std::move(work_.back());
      work_.pop_back();
      const auto& campaign = share_.interpreter_.campaign();
      const workflows::Broadcast& broadcast = campaign.broadcasts[work.broadcast];
      if (work.what == Work::send_one) {
        share_.apply(work.send.lead, at,
                     [&](LeadSnapshot&& lead) {
                       return share_.interpreter_.send_broadcast(lead, broadcast, work.send.variant, at);
                     });
        return;
      }
      int winner = -1;
      if (work.what == Work::decide) {
        winner = pick_winner(broadcast, share_.store_.workflow_counters(broadcast_workflow(broadcast.id)));
        TimelineEntry line;
        line.at = at;
        line.broadcast = broadcast.id;
        line.kind = "winner";
        line.variant = winner;
        line.template_name = broadcast.template_for(winner);
        timeline.push_back(std::move(line));
      }
      const BroadcastPart part = work.what == Work::decide ? BroadcastPart::rest : BroadcastPart::first;
      const auto sends = plan_broadcast(broadcast, recipients(broadcast), part, winner, at,
                                        campaign.config.default_timezone);
      for (const auto& send : sends) work_.push_back({send.due, Work::send_one, work.broadcast, send});
      if (part == BroadcastPart::first && broadcast.split) {
        const TimePoint last = sends.empty() ? at : sends.back().due;
        work_.push_back({last + broadcast.split->wait, Work::decide, work.broadcast, {}});
      }
      sort();
    }

   private:
    struct Work {
      TimePoint at;
      enum What { first_part, decide, send_one } what;
      std::size_t broadcast;
      BroadcastSend send;  // send_one: whom, with which variant
    };

    // The leads in the segment that were not given the broadcast yet, with their zones.
    std::vector<BroadcastRecipient> recipients(const workflows::Broadcast& broadcast) const {
      std::vector<BroadcastRecipient> found;
      for (const auto& [id, lead] : share_.store_.leads()) {
        if (!lead.segments.count(broadcast.segment) || lead.broadcasts.count(broadcast.id)) continue;
        const auto zone = lead.attrs.find("timezone");
        const bool valid = zone != lead.attrs.end() && zone->is_string() && is_valid_timezone(zone->get<std::string>());
        found.push_back({id, valid ? zone->get<std::string>() : std::string()});
      }
      return found;
    }

    // The next last (taken with pop_back): by time; at one instant planning before sends, and sends in the
    // plan's order (by lead).
    void sort() {
      std::stable_sort(work_.begin(), work_.end(), [](const Work& a, const Work& b) {
        if (a.at != b.at) return a.at < b.at;
        if ((a.what == Work::send_one) != (b.what == Work::send_one)) return a.what != Work::send_one;
        return a.send.lead < b.send.lead;
      });
      std::reverse(work_.begin(), work_.end());
    }

    Share& share_;
    std::vector<Work> work_;
  };

  // One decision at `at`, committed like the daemon commits it. Nothing else writes to this store, so the commit
  // cannot meet a newer version of the lead, and the decision can take the stored lead instead of a copy.
  template <typename Decide>
  void apply(const std::string& lead, TimePoint at, Decide decide) {
    clock_.set(at);  // the decision's timeline lines go to the share's timeline, not into the transition
    if (store_.decide_and_commit(lead, decide) != CommitOutcome::committed) {
      throw std::logic_error("the simulation's store refused a commit for " + lead);
    }
  }

  VirtualClock clock_{TimePoint{}};
  memory::MemoryStore store_;
  Interpreter interpreter_;
  Broadcasts broadcasts_{*this};
};

Simulation::Simulation(const workflows::Campaign& campaign, unsigned threads) : campaign_(campaign), threads_(threads) {}

Simulation::~Simulation() = default;

std::vector<TimelineEntry> Simulation::run(std::vector<Event> events, const SimulationOptions& options) {
  // Pointers sorted, not the events: an event is large (two JSON objects) and there may be hundreds of thousands.
  std::vector<const Event*> in_order;
  in_order.reserve(events.size());
  for (const Event& event : events) in_order.push_back(&event);
  std::stable_sort(in_order.begin(), in_order.end(), [](const Event* a, const Event* b) { return a->at < b->at; });
  if (in_order.empty() && !options.start) return {};
  const TimePoint start = options.start.value_or(in_order.front()->at);
  const TimePoint until = options.until.value_or(start + default_horizon);

  // Leads are dealt to shares by their hash. Unless told how many, one share per core, but small runs stay on one
  // thread, where starting threads costs more than it saves.
  constexpr std::size_t events_per_share = 20000;
  // Broadcasts are planned over all the leads at once (and a split's winner from all their counts): one share.
  const std::size_t count =
      !campaign_.broadcasts.empty() ? 1
      : threads_ > 0              ? threads_
                   : std::clamp<std::size_t>(events.size() / events_per_share, 1,
                                             std::max(1U, std::thread::hardware_concurrency()));
  shares_.clear();
  std::vector<std::vector<const Event*>> dealt(count);
  for (std::size_t s = 0; s < count; ++s) shares_.push_back(std::make_unique<Share>(campaign_, options.explain));
  for (const Event* event : in_order) {
    dealt[static_cast<std::size_t>(partition_of(event->lead, static_cast<int>(count)))].push_back(event);
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
      line.mutable_detail().post = post.id;
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
