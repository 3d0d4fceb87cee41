#pragma once
// Store in one process's memory: what `nurture simulate` runs on, and what engine tests use when the subject is
// the engine rather than Redis. It keeps the Store contract the Redis store keeps (tests/engine/store runs the
// same cases against both): compare-and-set commits, re-delivery and producer-id no-ops, timers in (due, lead,
// workflow) order, pending entries until acknowledged, claims, retries, suppression.
//
// What it does not have: durability (a restart loses everything), other consumers (one engine, so there is
// nothing to take over: reclaim_* take nothing), and blocking reads (a read with nothing to return returns at
// once; in one thread nothing could arrive while it waited). One thread at a time: it has no lock.
//
// Stream ids are stamped from the Clock like Redis stamps them from its own: "ms-seq", increasing.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engine/core/clock.hpp"
#include "engine/store/store.hpp"

namespace nurture::engine::memory {

struct MemoryStoreOptions {
  int partitions = 16;
  std::string consumer = "engine-1";
  std::chrono::hours event_dedupe{24};
};

// A dead-lettered event or timer: its fields and the reason.
struct DeadLetter {
  StreamFields fields;
  std::string reason;
};

class MemoryStore final : public Store {
 public:
  explicit MemoryStore(const Clock& clock, MemoryStoreOptions options = {});

  void prepare() override {}
  int partitions() const override { return options_.partitions; }

  std::vector<StreamEntry> read_events(int count, std::chrono::milliseconds block) override;
  using Store::ack_events;
  void ack_events(const std::vector<const StreamEntry*>& entries) override;
  void replay_pending() override;
  void isolate_pending() override { events_replay_ = Replay::isolated; }
  void dead_letter_event(const StreamEntry& entry, const std::string& reason) override;
  void dead_letter_timer(const TimerRef& timer, const std::string& reason) override;
  void add_event(const StreamFields& fields) override;
  void add_events(const std::vector<StreamFields>& events) override;

  LeadSnapshot load_lead(const std::string& lead) override;
  std::vector<LeadSnapshot> load_leads(const std::vector<std::string>& leads) override;
  void scan_leads(int batch, const std::function<bool(std::vector<LeadSnapshot>&)>& visit) override;
  std::string read_meta(const std::string& field) override { return meta_.count(field) ? meta_[field] : ""; }
  void write_meta(const std::string& field, const std::string& value) override { meta_[field] = value; }
  CommitOutcome commit(const LeadSnapshot& before, const Transition& transition, const std::string& stream_id,
                       const std::string& event_id) override;
  std::vector<CommitOutcome> commit_many(const std::vector<CommitRequest>& requests) override;
  // For the one writer of this store (the simulation): `decide` is given the stored lead itself, moved out (a new
  // one with this id if never stored), and what it returns is committed, its parts moved in. No copy of the lead
  // is made for a decision. `decide` must not use this store. A `decide` that throws, or whose transition is
  // refused, leaves the lead emptied: the caller stops there.
  template <typename Decide>
  CommitOutcome decide_and_commit(const std::string& lead, Decide&& decide) {
    Taken taken = take_lead(lead);
    Transition transition = decide(std::move(taken.lead));
    return commit_at(taken.stored, CommitRequest{&stamp_, &transition, "", ""}, &transition);
  }

  PinnedWorkflow pin_workflow(const std::string& id, const std::string& source) override;
  std::string workflow_version(const std::string& id, int version) override;
  std::vector<int> workflow_versions(const std::string& id) override;
  std::map<std::string, long> workflow_counters(const std::string& workflow) override;

  int reclaim_events(std::chrono::milliseconds) override { return 0; }
  int reclaim_outbox(std::chrono::milliseconds) override { return 0; }
  void trim_streams() override;

  std::vector<TimerRef> due_timers(TimePoint now, int limit, const std::vector<int>& partitions = {}) override;
  std::optional<TimePoint> next_timer_due() override;
  std::optional<TimePoint> timer_due(const TimerRef& timer) override;
  void release_due_retries(TimePoint now, const std::vector<int>& partitions = {}) override;
  std::vector<std::string> heartbeat(std::chrono::milliseconds lease, TimePoint now) override;
  const std::string& consumer() const override { return options_.consumer; }

  std::vector<OutboxEntry> read_outbox(int count,
                                       std::chrono::milliseconds block = std::chrono::milliseconds(0)) override;
  std::vector<DispatchCheck> check_and_claim(const std::vector<OutboxEntry>& entries) override;
  void mark_sending(const std::vector<const OutboxEntry*>& entries) override;
  void record_many(const std::vector<DispatchRecord>& records) override;
  void ack_outbox(const OutboxEntry& entry) override;
  bool is_suppressed(const std::string& channel, const std::string& address) override;
  void suppress(const std::string& channel, const std::string& address) override;
  long suppress_many(const std::string& channel, const std::vector<std::string>& addresses) override;
  bool unsuppress(const std::string& channel, const std::string& address) override;
  void scan_suppressed(const std::string& channel,
                       const std::function<bool(const std::vector<std::string>&)>& visit) override;
  std::string lead_of_action(const std::string& action_id) override;
  void schedule_retry(const OutboxEntry& entry, TimePoint due, const std::string& reason) override;
  void defer(const OutboxEntry& entry, TimePoint due, const std::string& reason) override;
  std::map<std::string, TimePoint> paused_workflows() override;
  void pause_workflow(const std::string& workflow, TimePoint since) override;
  Released resume_workflow(const std::string& workflow) override;
  void hold_timers(const std::vector<TimerRef>& timers) override;
  void hold_actions(const std::vector<const OutboxEntry*>& entries) override;
  Erased erase_lead(const std::string& lead, const std::vector<std::string>& address_hashes) override;
  bool queue_post(const PlannedAction& action, bool too_late) override;
  std::map<std::string, std::string> post_states() override;

  // What a test or the simulation looks at afterwards (Redis has its keys for that).
  // Every stored lead, by id (a copy, in order: for tests and simulate's callers).
  std::map<std::string, LeadSnapshot> leads() const;
  const std::vector<DeadLetter>& dead_events() const { return dead_events_; }
  const std::vector<DeadLetter>& dead_actions() const { return dead_actions_; }
  // Every entry still in the outbox streams, acknowledged or not, in partition then id order.
  std::vector<PlannedAction> outbox_actions() const;

 private:
  using StreamId = std::pair<std::int64_t, std::int64_t>;  // ms, seq
  template <typename Entry>
  struct Stream {
    std::map<StreamId, Entry> entries;
    std::map<StreamId, int> pending;  // delivered, not acknowledged: how often delivered
    StreamId last_delivered{0, 0};
  };
  using ByDue = std::set<std::pair<std::int64_t, std::string>>;  // a partition's timers: (due ms, member)
  // A timer as its lead keeps it: which of the lead's timers, and its place in its partition's ByDue.
  struct LeadTimer {
    std::string workflow;
    std::uint64_t seq = 0;
    ByDue::iterator place;
  };
  // A lead and its timers. A timer is found through its lead, which a commit has found already, rather than
  // through an index of every timer: at 100k leads each lookup in such an index was a few cache misses.
  struct StoredLead {
    LeadSnapshot lead;
    std::vector<LeadTimer> timers;  // a few: one per enrollment waiting
  };
  using Leads = std::unordered_map<std::string, StoredLead>;
  struct Taken {
    Leads::iterator stored;  // end() if never stored
    LeadSnapshot lead;
  };
  // The event streams: the front door (index 0), then each partition's inbox.
  enum class Replay { none, batch, isolated };

  StreamId next_id();
  static std::string id_text(StreamId id);
  static std::optional<StreamId> parse_id(const std::string& text);
  Stream<StreamFields>& event_stream(const StreamEntry& entry);
  std::vector<StreamEntry> read_pending_events(int count);
  Taken take_lead(const std::string& lead);
  CommitOutcome commit_at(Leads::iterator stored, const CommitRequest& request, Transition* movable = nullptr);
  ByDue& timers_of(const std::string& lead);
  static LeadTimer* find_timer(StoredLead& stored, const TimerRef& timer);
  void add_timer(Leads::iterator lead, const TimerRef& timer, std::int64_t due);
  void remove_timer(Leads::iterator lead, const TimerRef& timer);
  void record_one(const DispatchRecord& record);
  void reschedule(const OutboxEntry& entry, TimePoint due, int next_attempt, const std::string& stat);

  const Clock& clock_;
  MemoryStoreOptions options_;
  StreamId last_id_{0, 0};
  std::vector<Stream<StreamFields>> event_streams_;  // front door, then inboxes
  std::vector<Stream<OutboxEntry>> outboxes_;
  std::vector<ByDue> timers_;  // by partition
  std::vector<std::multimap<std::int64_t, OutboxEntry>> retries_;  // due ms -> entry with its next attempt
  Replay events_replay_ = Replay::none;
  bool outbox_replay_ = false;

  Leads leads_;
  LeadSnapshot stamp_;  // what a decision in place was decided on, for its commit to check: the lead's id and version
  std::map<std::string, std::string> meta_;
  std::unordered_map<std::string, TimePoint> seen_until_;  // producer event id -> remembered until
  // workflow -> field -> count. Hashed: a commit adds to several, and ordered maps compared whole strings.
  std::unordered_map<std::string, std::unordered_map<std::string, long>> counters_;
  std::map<std::string, std::map<int, std::string>> workflows_;
  std::unordered_map<std::string, std::string> dispatch_records_;  // action id -> claim or result
  std::unordered_map<std::string, std::string> action_leads_;
  std::map<std::string, std::set<std::string>> suppressed_;  // channel -> address keys
  std::map<std::string, std::int64_t> engines_;  // consumer -> last heartbeat ms
  std::vector<DeadLetter> dead_events_;
  std::vector<DeadLetter> dead_actions_;
  struct Held {
    std::vector<std::pair<std::string, std::int64_t>> timers;  // member, due ms
    std::vector<OutboxEntry> actions;
  };
  std::map<std::string, TimePoint> paused_;
  std::map<std::string, Held> held_;  // by workflow
  std::map<std::string, std::string> posts_;  // post:connector -> state
};

}  // namespace nurture::engine::memory
