#pragma once
// What the interpreter decides for one lead at one instant, and what the store commits atomically.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/core/clock.hpp"
#include "engine/core/lead.hpp"

namespace nurture::engine {

// A durable wait: the enrollment (lead, workflow) at sequence `seq` is due. A timer whose seq no longer matches
// the enrollment is stale and fires as a no-op.
// The timer of a lead's segment membership (a `within` window expiring), in the place of a workflow id: no
// workflow id can start with `~`.
inline constexpr const char* segments_timer_workflow = "~segments";

struct TimerRef {
  std::string lead;
  std::string workflow;
  std::uint64_t seq = 0;
  TimePoint due{};  // when read from the store: when it fell due (not part of its identity)

  std::string member() const;  // `lead ␟ workflow ␟ seq`: sorts by lead, then workflow, as semantics.md wants
  static std::optional<TimerRef> parse(const std::string& member);
};

// An action to dispatch, as written to the outbox. Rendering happens at dispatch time, with the lead's data then.
struct PlannedAction {
  std::string action_id;
  std::string lead;
  std::string workflow;
  int version = 1;
  std::string step;
  std::string kind;  // email, post, webhook, handoff
  std::string template_name;
  std::string connector;
  std::string to;    // email: the address
  std::string note;  // handoff
  // When the step that planned it was due (a timer's due time: later than planning when the workflow was paused),
  // in Unix ms; 0 when unknown. A workflow's `max_late` is measured from it.
  std::int64_t due_ms = 0;
  std::string arms;  // the split arms the enrollment took (`split:arm;...`): its result counts for them too
  // The lead as the action was planned, {"a": attrs, "s": score, "st": stage}, what the templates render from: it
  // saves the dispatcher a read of the lead per action.
  std::string lead_data;
};

// What only some timeline lines carry (stage, exited, skipped, post and the explained lines), kept out of line:
// a simulation holds every line of its run, and most lines (entered, action, completed) need none of it.
struct TimelineDetail {
  std::string reason;  // skipped, exited
  std::string goal;    // exited with a goal
  std::string post;    // post lines (a scheduled post on one connector; no lead)
  std::optional<std::string> from;  // stage lines: the stage before (null for none)
  std::string to;       // stage lines: the new stage; decision lines: the step the lead goes to
  long score = 0;
  std::string because;             // decision lines: the condition that held (or `else`, the split arm's share)
  std::optional<TimePoint> until;  // deferred lines: when the send window opens
  std::string rule;                // score lines: `event:T`, `attr:NAME` or `step:ID`
  double points = 0, total = 0;    // score lines
};

// One line of the timeline; empty fields are not printed.
struct TimelineEntry {
  TimePoint at;
  std::string lead;
  std::string workflow;
  // entered, action, skipped, exited, completed, stage, post; explained: decision, deferred, score, revenue
  std::string kind;
  std::string step;
  std::string action;  // action lines: email, post, webhook, handoff
  std::string connector;
  std::string template_name;
  std::string broadcast;  // a broadcast's lines (in the place of `workflow`)
  int variant = -1;       // a broadcast split's variant (index; -1: none)
  int version = 0;        // entered

  TimelineEntry() = default;
  TimelineEntry(const TimelineEntry& other);
  TimelineEntry(TimelineEntry&&) noexcept = default;
  TimelineEntry& operator=(const TimelineEntry& other);
  TimelineEntry& operator=(TimelineEntry&&) noexcept = default;
  ~TimelineEntry() = default;

  // The line's detail: empty fields when it has none.
  const TimelineDetail& detail() const;
  // The detail to write, made on first use.
  TimelineDetail& mutable_detail();

 private:
  std::unique_ptr<TimelineDetail> detail_;
};

// A counter of a workflow's funnel (`nurture report`): `entered`, `completed`, `exited`, `goal:NAME`,
// `step:ID:reached|action|skipped|opened|clicked`.
struct Counter {
  std::string workflow;
  std::string field;
  long amount = 1;  // what it adds (revenue counts cents)
};

struct Transition {
  std::uint64_t expected_version = 0;  // the snapshot's version: the commit is refused if the lead moved on
  TimePoint decided_at{};              // the `now` it was decided at: the store files far timers by it
  LeadSnapshot lead;                   // the state after
  std::vector<std::pair<TimerRef, TimePoint>> timers_to_add;
  std::vector<TimerRef> timers_to_remove;
  std::vector<PlannedAction> actions;
  std::vector<TimelineEntry> timeline;
  std::vector<Counter> counters;
  // Addresses to add to a channel's suppression list (an unsubscribe): global, outside the lead's partition, so
  // written before the commit (adding twice is harmless) rather than inside it.
  std::vector<std::pair<std::string, std::string>> suppress;  // channel, address
};

}  // namespace nurture::engine
