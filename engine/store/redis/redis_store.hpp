#pragma once
// The store on Redis: one server or a Redis Cluster (partitions spread by their `{p}` hash tags).

#include <atomic>
#include <functional>
#include <optional>
#include <memory>
#include <string>
#include <string_view>

#include "engine/store/redis/keys.hpp"
#include "engine/store/redis/redis_connection.hpp"
#include "engine/store/store.hpp"

namespace nurture::engine::redis {

struct CommitBlock;

struct RedisStoreOptions {
  std::string key_prefix = "nurture:";
  int partitions = 16;
  std::string consumer = "engine-1";  // name in the consumer groups; stable across restarts of one engine
  std::chrono::hours event_dedupe{24};
  std::chrono::hours dispatch_record_ttl{24 * 30};
  int event_streams = 1;  // `events.streams`: front-door streams read (events, events:1 ...)
  // `durability: replicated`: a commit batch or a batch of dispatch results is done only when a replica of each
  // master it wrote to has it (WAIT 1), so a failover cannot take back what was acknowledged.
  bool wait_for_replica = false;
  std::chrono::milliseconds replica_timeout{2000};
  // A commit checks and writes with native commands on one Redis server, with the commit script on a cluster
  // (commit_block.hpp); true takes the script on one server too.
  bool commit_by_script = false;
  // Fault injection for tests: runs between a native commit's checks and its writes, to change what was checked.
  std::function<void()> between_commit_round_trips;
};

// An outbox entry's fields, readable one by one, as retries, held actions and dead letters keep them.
std::vector<std::string> outbox_fields(const PlannedAction& action, int attempt);
// The outbox entry a commit writes: `lead` (the erase of a lead looks for it) and `p`, the rest packed into one
// value, each part as `<length>:<bytes>` in a fixed order. One field instead of a dozen is cheaper for Redis to
// append, hand out and for the engine to read; read_outbox takes either form.
std::vector<std::string> packed_outbox_fields(const PlannedAction& action, int attempt);
// Fills an action and its attempt from a `p` value; false (and nothing trusted) when it does not parse.
bool unpack_outbox_value(std::string_view packed, PlannedAction& action, int& attempt);

class RedisStore final : public Store {
 public:
  RedisStore(std::unique_ptr<RedisConnection> connection, RedisStoreOptions options);

  void prepare() override;
  int partitions() const override { return options_.partitions; }

  std::vector<StreamEntry> read_events(int count, std::chrono::milliseconds block) override;
  using Store::ack_events;
  void ack_events(const std::vector<const StreamEntry*>& entries) override;
  void replay_pending() override {
    if (events_pending_ == PendingReplay::none) events_pending_ = PendingReplay::batch;
    outbox_pending_drained_ = false;
  }
  void isolate_pending() override { events_pending_ = PendingReplay::isolated; }
  void dead_letter_event(const StreamEntry& entry, const std::string& reason) override;
  void dead_letter_timer(const TimerRef& timer, const std::string& reason) override;
  void add_event(const StreamFields& fields) override;
  void add_events(const std::vector<StreamFields>& events) override;

  LeadSnapshot load_lead(const std::string& lead) override;
  std::vector<LeadSnapshot> load_leads(const std::vector<std::string>& leads) override;
  void scan_leads(int batch, const std::function<bool(std::vector<LeadSnapshot>&)>& visit) override;
  CommitOutcome commit(const LeadSnapshot& before, const Transition& transition, const std::string& stream_id,
                       const std::string& event_id) override;
  std::vector<CommitOutcome> commit_many(const std::vector<CommitRequest>& requests) override;

  void trim_streams() override;
  PinnedWorkflow pin_workflow(const std::string& id, const std::string& source) override;
  std::string workflow_version(const std::string& id, int version) override;
  std::vector<int> workflow_versions(const std::string& id) override;
  int reclaim_events(std::chrono::milliseconds idle) override;
  int reclaim_outbox(std::chrono::milliseconds idle) override;
  std::map<std::string, long> workflow_counters(const std::string& workflow) override;
  std::string read_meta(const std::string& field) override;
  void write_meta(const std::string& field, const std::string& value) override;
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

  // redis_operations.cpp: what operators do (pause, resume, erase).
  std::map<std::string, TimePoint> paused_workflows() override;
  void pause_workflow(const std::string& workflow, TimePoint since) override;
  Released resume_workflow(const std::string& workflow) override;
  void hold_timers(const std::vector<TimerRef>& timers) override;
  void hold_actions(const std::vector<const OutboxEntry*>& entries) override;
  Erased erase_lead(const std::string& lead, const std::vector<std::string>& address_hashes) override;
  bool queue_post(const PlannedAction& action, bool too_late) override;
  std::map<std::string, std::string> post_states() override;

 private:
  void reschedule(const OutboxEntry& entry, TimePoint due, int next_attempt, const std::string& stat,
                  const std::string& reason);

 public:

  RedisConnection& connection() { return *connection_; }
  const Keys& keys() const { return keys_; }

 private:
  std::vector<OutboxEntry> read_outbox_from(const char* from, int count, std::chrono::milliseconds block);
  int reclaim(const std::vector<std::string>& streams, const char* group, std::chrono::milliseconds idle);
  CommitBlock commit_block(const CommitRequest& request) const;
  std::vector<CommitOutcome> commit_natively(const std::vector<CommitRequest>& requests);
  // Fills the outcomes of the blocks it commits, and lists those that must go through the script.
  void check_and_write(std::vector<CommitBlock>& blocks, std::vector<CommitOutcome>& outcomes,
                       std::vector<std::size_t>& by_script);
  std::vector<CommitOutcome> commit_by_script(const std::vector<CommitRequest>& requests);
  std::string record_key(const OutboxEntry& entry) const;
  Command record_expiry(const OutboxEntry& entry) const;
  RedisReply checked(const Command& command);
  void in_one_transaction(const std::vector<Command>& commands);
  void wait_for_replica(const std::vector<std::string>& keys);
  void scan_or_throw(const std::string& match, int count, const std::function<bool(std::vector<std::string>&)>& visit);
  // The streams engines read events from: the front door's (`events.streams`), then each partition's inbox.
  std::vector<std::string> event_streams() const;
  StreamEntry stream_entry(const std::string& stream, std::string id, StreamFields fields) const;
  // The front-door stream our own producers (emit, import, the admin API) add a lead's events to: one per lead, so
  // its events keep their order.
  int front_door_of(const StreamFields& fields) const;
  std::vector<RedisReply> checked(const std::vector<Command>& commands);

  std::unique_ptr<RedisConnection> connection_;
  RedisStoreOptions options_;
  Keys keys_;
  Script commit_script_;
  Script release_retries_script_;
  Script pin_script_;
  Script hold_timers_script_;
  Script hold_actions_script_;
  Script release_held_script_;
  Script queue_post_script_;
  // Timers due later than two minutes wait in buckets (timer_buckets.hpp), filed again when their time comes.
  Script promote_buckets_script_;
  Script find_bucketed_script_;
  Script erase_bucketed_script_;
  std::atomic<long long> next_promotion_ms_{0};
  // This consumer's pending events are read before new ones: one at a time at start and after a takeover (each
  // delivery counted, so an event that keeps stopping the engine shows it), as a batch after a store error.
  enum class PendingReplay { none, batch, isolated };
  PendingReplay events_pending_ = PendingReplay::isolated;
  std::vector<StreamEntry> read_pending_events(int count, bool isolated);
  std::vector<StreamEntry> read_pending_once(int count, bool isolated, bool& any_gone);
  bool outbox_pending_drained_ = false;
};

}  // namespace nurture::engine::redis
