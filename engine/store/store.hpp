#pragma once
// The engine's view of durable state. Everything the interpreter's transitions need committed atomically, the
// ingress stream, timers, the outbox and dispatch records. Redis implements it (store/redis/); nothing outside
// engine/store/ speaks Redis.
//
// Unreachable storage is not an expected per-call failure but a condition of the whole process: every call may
// throw StoreUnavailable, and the run loop handles it in one place (back off, retry; nothing was acknowledged).

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/core/event.hpp"
#include "engine/core/lead.hpp"
#include "engine/core/transition.hpp"

namespace nurture::engine {

struct StoreUnavailable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Storage refused one commit for what it holds (not for being unavailable): retrying the same commit fails again.
// Batch commit isolates the item that causes it, and ingest dead-letters that event.
struct CommitRejected : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct StreamEntry {
  std::string id;
  StreamFields fields;
  std::string stream;       // the key it was read from
  bool from_inbox = false;  // a partition's inbox (events the engine raised itself), not the front door
  int front_door = 0;       // which front-door stream (`events.streams`), when not from an inbox
  // How often it was handed to an engine without being acknowledged before (0 for a first delivery). An entry that
  // keeps coming back was being processed when an engine failed or stopped: ingest quarantines it past a bound.
  int earlier_deliveries = 0;
};

enum class CommitOutcome {
  committed,
  conflict,   // the lead changed since its snapshot was read: read again and recompute
  duplicate,  // this event was applied before (re-delivery or a producer id seen within the dedupe window)
};

struct OutboxEntry {
  int partition = 0;
  std::string stream_id;
  PlannedAction action;
  int attempt = 1;
};

enum class ClaimOutcome {
  claimed,          // first attempt: go ahead
  claimed_again,    // a previous attempt crashed after handing it to its connector: sending may duplicate (counted)
  already_done,     // a result is recorded: skip
};

enum class DispatchOutcome { sent, failed, suppressed, skipped };

// One transition to commit, computed from `before`.
struct CommitRequest {
  const LeadSnapshot* before = nullptr;
  const Transition* transition = nullptr;
  std::string stream_id;  // the stream entry it applies, if any
  std::string event_id;   // the producer's idempotency key, if any
  bool from_inbox = false;  // stream_id is an inbox entry (its own order), not a front-door one
  int front_door = 0;       // else which front-door stream: each has its own order
};

// The position in the lead's snapshot that committing a stream entry moves on: an inbox entry last_inbox_id, an
// entry of the first front-door stream last_stream_id. The other front-door streams (`events.streams` above 1) are
// remembered by the store alone, outside the snapshot; for them, and for a commit of no entry, none (nullptr).
// Every store and the batch commit's chaining follow this one rule.
inline std::string LeadSnapshot::*moved_position(const std::string& stream_id, bool from_inbox, int front_door) {
  if (stream_id.empty() || (!from_inbox && front_door != 0)) return nullptr;
  return from_inbox ? &LeadSnapshot::last_inbox_id : &LeadSnapshot::last_stream_id;
}

// What the dispatcher learns about an outbox entry before it sends it, in one round trip for a whole batch.
struct DispatchCheck {
  bool suppressed = false;
  ClaimOutcome claim = ClaimOutcome::claimed;
};

struct DispatchRecord {
  const OutboxEntry* entry = nullptr;
  DispatchOutcome outcome = DispatchOutcome::sent;
  std::string detail;  // provider id or reason
  TimePoint at;        // when; the raised event (`email.sent`, `action.failed`) carries it
  bool raise_event = true;  // false when nothing in the campaign listens to the event this outcome raises
  bool remember_lead = false;  // sent email that may bounce back as a report naming only the action
};

// The event type a dispatch outcome raises for the lead, or "" for none (docs/events.md).
std::string raised_event_type(const PlannedAction& action, DispatchOutcome outcome);
// The event a recorded outcome raises, as the fields of a stream entry; nothing when it raises none (or the
// campaign does not listen). Every store writes it to the lead's partition inbox with the record.
std::optional<StreamFields> raised_event(const DispatchRecord& record);
// How a dispatch record starts: s(ent), f(ailed), x (suppressed), k (skipped); both stores write the same.
const char* outcome_letter(DispatchOutcome outcome);
// "sent", "failed", "suppressed", "skipped": the funnel counter `step:ID:OUTCOME`.
const char* outcome_name(DispatchOutcome outcome);
// A scheduled post on one connector (posts/*.yaml): a post action with no lead. It raises no event, and its
// outcome is kept in the post states under post_state_field().
inline bool is_scheduled_post(const PlannedAction& action) { return action.kind == "post" && action.lead.empty(); }
inline std::string post_state_field(const PlannedAction& action) { return action.step + ":" + action.connector; }
// What a scheduled post's record says in post_states(): `s:<provider id>`, `f:<why>`, ...
std::string post_state(const DispatchRecord& record);
// The counters a recorded outcome adds to its workflow's: `step:ID:OUTCOME`, and for a send `sent:YYYY-MM-DD` (UTC,
// the report's sends per day) and `split:STEP:ARM:sent` for each split arm its enrollment took.
std::vector<std::string> outcome_counters(const DispatchRecord& record);
// The partitions asked for, or all `count` of them when none are.
std::vector<int> partitions_or_all(const std::vector<int>& partitions, int count);
// Timers as (due ms, member) from any number of partitions, as due_timers() returns them: earliest first, at one
// instant by (lead, workflow), which is the member's own order.
std::vector<TimerRef> timers_in_due_order(std::vector<std::pair<std::int64_t, std::string>> due);

class Store {
 public:
  virtual ~Store() = default;

  // Checks/records the partition count and creates the consumer groups.
  virtual void prepare() = 0;
  virtual int partitions() const = 0;

  // The front door and the partitions' inboxes. The first call returns this consumer's pending entries (left by a
  // crash), later calls new ones.
  virtual std::vector<StreamEntry> read_events(int count, std::chrono::milliseconds block) = 0;
  // Handled: not handed out again. The entries are named by address, so a batch is acknowledged without copies.
  virtual void ack_events(const std::vector<const StreamEntry*>& entries) = 0;
  void ack_events(const std::vector<StreamEntry>& entries);
  // After a failure mid-batch: read this consumer's pending entries (events and outbox) again, from the start.
  virtual void replay_pending() = 0;
  // After processing failed in a way that may be an entry's fault: pending entries come back one at a time, each
  // with its count of earlier deliveries, so ingest can quarantine the one that keeps failing.
  virtual void isolate_pending() = 0;
  virtual void dead_letter_event(const StreamEntry& entry, const std::string& reason) = 0;
  // A timer whose firing fails: removed, and written to the events' dead-letter stream with the reason, so it
  // neither fires again on every pass nor disappears unseen.
  virtual void dead_letter_timer(const TimerRef& timer, const std::string& reason) = 0;
  virtual void add_event(const StreamFields& fields) = 0;
  virtual void add_events(const std::vector<StreamFields>& events) = 0;  // one round trip

  virtual LeadSnapshot load_lead(const std::string& lead) = 0;
  // Many at once (one round trip); in the order asked.
  virtual std::vector<LeadSnapshot> load_leads(const std::vector<std::string>& leads) = 0;
  // Every stored lead, a batch of about `batch` at a time, in no particular order (a lead changed meanwhile may
  // come as it was or as it is); `visit` returns false to stop. For tools and background passes, not the hot path.
  virtual void scan_leads(int batch, const std::function<bool(std::vector<LeadSnapshot>&)>& visit) = 0;
  // Atomic: all of the transition or none, refused (conflict) when the lead's version is no longer `before`'s.
  // `stream_id`/`event_id` make re-applying an event a no-op.
  virtual CommitOutcome commit(const LeadSnapshot& before, const Transition& transition,
                               const std::string& stream_id, const std::string& event_id) = 0;
  // Many at once (one round trip), each atomic on its own; outcomes in the order given. No two may be for the
  // same lead.
  virtual std::vector<CommitOutcome> commit_many(const std::vector<CommitRequest>& requests) = 0;

  // Pins `source` as a version of workflow `id`: the latest version when it is the same text, else a new one.
  // Returns the current version and the text of every version stored.
  struct PinnedWorkflow {
    int current = 0;
    std::map<int, std::string> versions;
  };
  virtual PinnedWorkflow pin_workflow(const std::string& id, const std::string& source) = 0;
  // The text a version pinned; empty when there is none.
  virtual std::string workflow_version(const std::string& id, int version) = 0;
  // The versions pinned for a workflow, oldest first (empty when it never ran).
  virtual std::vector<int> workflow_versions(const std::string& id) = 0;

  // Facts about the store as a whole (`nurture:meta`), e.g. which segment definitions the leads were evaluated
  // against; "" when unset.
  virtual std::string read_meta(const std::string& field) = 0;
  virtual void write_meta(const std::string& field, const std::string& value) = 0;

  // The funnel counters of a workflow, summed over partitions.
  virtual std::map<std::string, long> workflow_counters(const std::string& workflow) = 0;

  // Takes over entries another consumer was given and has not acknowledged for `idle` (it died, or its host was
  // renamed): they come back through read_events / read_outbox. Returns how many it took.
  virtual int reclaim_events(std::chrono::milliseconds idle) = 0;
  virtual int reclaim_outbox(std::chrono::milliseconds idle) = 0;

  // Drops stream entries every consumer group is done with (front door and outboxes), so streams do not grow
  // without bound. Safe at any time: pending and undelivered entries stay.
  virtual void trim_streams() = 0;

  // Due timers of the given partitions (all when empty).
  virtual std::vector<TimerRef> due_timers(TimePoint now, int limit, const std::vector<int>& partitions = {}) = 0;
  // When the earliest timer falls due; nullopt when none is set.
  virtual std::optional<TimePoint> next_timer_due() = 0;
  // When one timer falls due (also one held by a paused workflow); none when there is no such timer.
  virtual std::optional<TimePoint> timer_due(const TimerRef& timer) = 0;
  virtual void release_due_retries(TimePoint now, const std::vector<int>& partitions = {}) = 0;

  // Engines on one Redis say they are alive at `now` (their Clock's); returns the live ones (heard from within
  // `lease`), sorted. Partition p is served by live[p mod live.size()]: a dead engine's partitions pass to the
  // others within one lease.
  virtual std::vector<std::string> heartbeat(std::chrono::milliseconds lease, TimePoint now) = 0;
  virtual const std::string& consumer() const = 0;

  // `block`: how long to wait for entries when there are none (0: do not wait).
  virtual std::vector<OutboxEntry> read_outbox(int count,
                                               std::chrono::milliseconds block = std::chrono::milliseconds(0)) = 0;
  // Suppression and what the records say, for a batch (one round trip): whether each action may be sent, was
  // handed to a connector by an attempt that did not finish (counted), or has its result. Nothing needs writing
  // to claim an action: the consumer group's pending entry says who holds it.
  virtual std::vector<DispatchCheck> check_and_claim(const std::vector<OutboxEntry>& entries) = 0;
  // Says that these claimed actions are about to be handed to their connectors (one round trip). A claim found
  // marked after a crash is one whose send may have happened (claimed_again); an unmarked claim never reached a
  // connector.
  virtual void mark_sending(const std::vector<const OutboxEntry*>& entries) = 0;
  // Many results at once (one round trip), each atomic with its acknowledgement.
  virtual void record_many(const std::vector<DispatchRecord>& records) = 0;
  // Acknowledges an entry whose result was recorded before (a re-delivery): nothing else changes.
  virtual void ack_outbox(const OutboxEntry& entry) = 0;
  virtual bool is_suppressed(const std::string& channel, const std::string& address) = 0;
  // Bounces and complaints: the address is never sent to again on `channel`.
  virtual void suppress(const std::string& channel, const std::string& address) = 0;
  // Operators' lists: many at once (returns how many were not suppressed before), one taken off (false when it
  // was not on), and the whole list a batch at a time (`visit` returns false to stop). Addresses as address_key().
  virtual long suppress_many(const std::string& channel, const std::vector<std::string>& addresses) = 0;
  virtual bool unsuppress(const std::string& channel, const std::string& address) = 0;
  virtual void scan_suppressed(const std::string& channel,
                               const std::function<bool(const std::vector<std::string>&)>& visit) = 0;
  // The lead a sent email (remember_lead) went to; "" when unknown or older than a week.
  virtual std::string lead_of_action(const std::string& action_id) = 0;
  // Pausing a workflow (`nurture workflow pause|resume`, the admin API). Every partition keeps the pause, so holding
  // a timer or an action checks it atomically with the hold. A workflow paused in any partition counts as paused
  // (a pause cut short by a crash is completed by pausing again).
  virtual std::map<std::string, TimePoint> paused_workflows() = 0;  // workflow -> paused since
  virtual void pause_workflow(const std::string& workflow, TimePoint since) = 0;
  // Ends the pause and lets go of what was held meanwhile: timers at their own due times (so they fire in order),
  // actions back to the outbox. Returns how many of each.
  struct Released {
    long timers = 0;
    long actions = 0;
  };
  virtual Released resume_workflow(const std::string& workflow) = 0;
  // Due timers and outbox entries of a paused workflow are set aside until it resumes. Each is checked against the
  // pause atomically with the move: a timer whose workflow was resumed meanwhile stays to fire, an action goes
  // back to the outbox (through the retries, due now).
  virtual void hold_timers(const std::vector<TimerRef>& timers) = 0;
  virtual void hold_actions(const std::vector<const OutboxEntry*>& entries) = 0;

  // Scheduled posts: queues `action` (one post on one connector; no lead) in the outbox once, however often and
  // wherever it is called; false when it was queued (or passed over) before. `too_late`: it is marked passed over
  // (`k:late`) instead of queued.
  virtual bool queue_post(const PlannedAction& action, bool too_late) = 0;
  // What became of each scheduled post on each connector (`post:connector` -> state): `q` queued, `r:<attempt>:<why>`
  // retrying, `s:<provider id>` published, `f:<why>` failed, `k:late` passed over; absent: not queued yet.
  virtual std::map<std::string, std::string> post_states() = 0;

  // `nurture lead erase`: everything kept about one lead (its state and history, its timers, its pending, held
  // and dead-lettered actions, its events not yet read and those raised for it, the records of which action went
  // to it), and `address_hashes` added to the email suppression list (the address itself taken off it).
  struct Erased {
    bool lead = false;
    long timers = 0;
    long actions = 0;
    long events = 0;
    long remembered = 0;
  };
  virtual Erased erase_lead(const std::string& lead, const std::vector<std::string>& address_hashes) = 0;

  // Acknowledges the entry and puts it back `after` from now, with attempt + 1.
  virtual void schedule_retry(const OutboxEntry& entry, TimePoint due, const std::string& reason) = 0;
  // The same without spending an attempt: the engine held the send back (rate limit, open circuit).
  virtual void defer(const OutboxEntry& entry, TimePoint due, const std::string& reason) = 0;
};

}  // namespace nurture::engine
