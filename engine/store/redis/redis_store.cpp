// Store on Redis. What it guarantees:
// - commit() refuses a transition computed from a stale snapshot (compare-and-set on the lead's version, bumped by
//   every commit) and one whose event was applied before (the lead's last front-door entry id, and the producer id
//   within the dedupe window); otherwise it writes lead, timers, outbox and counters together: a WATCH/MULTI
//   transaction on one server, a Lua script on a cluster (commit_block.hpp).
// - An event is acknowledged only after its commit, so a crash in between re-delivers it and the
//   commit recognises it.
// - Dispatch records are fields of `{p}:done:<day>` hashes (the day the outbox entry was added), by action id: `p`
//   handed to its connector, `r:<n>` retry pending, `s:`/`f:`/`x:`/`k:` final (sent, failed, suppressed, skipped).
//   No record: never handed over. Recording a batch of results with its acknowledgements and its counters (summed)
//   is one MULTI per partition.

#include "engine/store/redis/redis_store.hpp"

#include <algorithm>
#include <charconv>
#include <set>
#include <span>

#include <fmt/compile.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "engine/core/identity.hpp"
#include "engine/store/redis/commit_block.hpp"
#include "engine/store/redis/lead_fields.hpp"
#include "engine/store/redis/timer_buckets.hpp"
#include "text/address.hpp"

namespace nurture::engine::redis {

namespace {


// Moves due retries (members are JSON arrays of outbox fields) back into the outbox.
const char* release_retries_lua = R"lua(
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 256)
for _, member in ipairs(due) do
  redis.call('XADD', KEYS[2], '*', unpack(cjson.decode(member)))
  redis.call('ZREM', KEYS[1], member)
end
return #due
)lua";

// Pins a workflow's text as its latest version, or as a new one when it changed; atomic, so two engines starting
// together agree on the numbers.
const char* pin_lua = R"lua(
local all = redis.call('HGETALL', KEYS[1])
local latest, text = 0, nil
for i = 1, #all, 2 do
  local v = tonumber(all[i])
  if v > latest then latest, text = v, all[i + 1] end
end
if text ~= ARGV[1] then
  latest = latest + 1
  redis.call('HSET', KEYS[1], latest, ARGV[1])
end
return latest
)lua";

}  // namespace

std::vector<std::string> outbox_fields(const PlannedAction& a, int attempt) {
  std::vector<std::string> fields{"aid", a.action_id, "lead", a.lead, "wf", a.workflow, "v",
                                  std::to_string(a.version), "step", a.step, "kind", a.kind, "tpl", a.template_name,
                                  "conn", a.connector, "to", a.to, "attempt", std::to_string(attempt)};
  if (!a.note.empty()) fields.insert(fields.end(), {"note", a.note});
  if (a.due_ms != 0) fields.insert(fields.end(), {"due", std::to_string(a.due_ms)});
  if (!a.arms.empty()) fields.insert(fields.end(), {"arms", a.arms});
  if (!a.lead_data.empty()) fields.insert(fields.end(), {"ld", a.lead_data});
  return fields;
}

namespace {
constexpr std::string_view packed_outbox_version = "1;";
constexpr std::size_t packed_outbox_parts = 13;

int int_or(std::string_view text, int fallback) {
  int value = fallback;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size() ? value : fallback;
}
}  // namespace

std::vector<std::string> packed_outbox_fields(const PlannedAction& a, int attempt) {
  const std::string version = std::to_string(a.version);
  const std::string attempts = std::to_string(attempt);
  const std::string due = a.due_ms != 0 ? std::to_string(a.due_ms) : std::string();
  const std::string_view parts[packed_outbox_parts] = {a.action_id, a.workflow, version, a.step, a.kind,
                                                       a.template_name, a.connector, a.to, attempts, a.note,
                                                       due, a.arms, a.lead_data};
  std::string packed(packed_outbox_version);
  std::size_t size = packed.size();
  for (std::string_view part : parts) size += part.size() + 8;
  packed.reserve(size);
  char digits[24];
  for (std::string_view part : parts) {
    packed.append(digits, std::to_chars(digits, digits + sizeof digits, part.size()).ptr);
    packed.push_back(':');
    packed.append(part);
  }
  return {"lead", a.lead, "p", std::move(packed)};
}

bool unpack_outbox_value(std::string_view text, PlannedAction& a, int& attempt) {
  if (!text.starts_with(packed_outbox_version)) return false;
  text.remove_prefix(packed_outbox_version.size());
  std::string_view parts[packed_outbox_parts];
  for (std::string_view& part : parts) {
    std::size_t length = 0;
    const char* end = text.data() + text.size();
    const auto [colon, error] = std::from_chars(text.data(), end, length);
    if (error != std::errc() || colon == end || *colon != ':') return false;
    const std::size_t at = static_cast<std::size_t>(colon - text.data()) + 1;
    if (length > text.size() - at) return false;
    part = text.substr(at, length);
    text.remove_prefix(at + length);
  }
  if (!text.empty()) return false;
  a.action_id = parts[0];
  a.workflow = parts[1];
  a.version = int_or(parts[2], 1);
  a.step = parts[3];
  a.kind = parts[4];
  a.template_name = parts[5];
  a.connector = parts[6];
  a.to = parts[7];
  attempt = int_or(parts[8], 1);
  a.note = parts[9];
  a.due_ms = 0;
  std::from_chars(parts[10].data(), parts[10].data() + parts[10].size(), a.due_ms);
  a.arms = parts[11];
  a.lead_data = parts[12];
  return true;
}

namespace {

// The strings are moved out of the reply: it is read once.
StreamFields field_map(RedisReply& flat) {
  StreamFields fields;
  for (std::size_t i = 0; i + 1 < flat.elements.size(); i += 2) {
    fields.emplace(std::move(flat.elements[i].text), std::move(flat.elements[i + 1].text));
  }
  return fields;
}

// XREADGROUP reply: [[stream, [[id, [f, v, ...]], ...]], ...]; entries deleted meanwhile have nil fields.
template <typename Visit>
void for_each_stream_entry(RedisReply& reply, Visit visit) {
  if (reply.type != RedisReply::Type::array) return;
  for (auto& stream : reply.elements) {
    if (stream.elements.size() != 2) continue;
    for (auto& entry : stream.elements[1].elements) {
      if (entry.elements.size() != 2) continue;
      visit(stream.elements[0].text, entry.elements[0].text, entry.elements[1]);
    }
  }
}

}  // namespace

RedisStore::RedisStore(std::unique_ptr<RedisConnection> connection, RedisStoreOptions options)
    : connection_(std::move(connection)), options_(std::move(options)), keys_(options_.key_prefix) {
  commit_script_.source = std::string(timer_filing_lua) + commit_lua;
  promote_buckets_script_.source = std::string(timer_filing_lua) + promote_buckets_lua;
  find_bucketed_script_.source = find_bucketed_lua;
  release_retries_script_.source = release_retries_lua;
  pin_script_.source = pin_lua;
}

RedisReply RedisStore::checked(const Command& command) {
  return std::move(checked(std::vector<Command>{command}).front());  // moved: a read's reply can be large
}

namespace {
// Replies that say Redis cannot take the command now (out of memory, a replica, loading, a script running, a
// cluster reconfiguring or a slot that moved more often than the connection follows), not that the command is wrong: the work is retried later, never dead-lettered.
bool is_transient_error(const RedisReply& reply) {
  if (!reply.is_error()) return false;
  static const char* prefixes[] = {"OOM ",      "READONLY ",    "LOADING ", "BUSY ",       "MASTERDOWN ", "TRYAGAIN ",
                                   "CLUSTERDOWN ", "MISCONF ", "NOREPLICAS ", "UNBLOCKED ", "MOVED ",     "ASK "};
  for (const char* prefix : prefixes) {
    if (reply.text.rfind(prefix, 0) == 0) return true;
  }
  return false;
}
}  // namespace

std::vector<RedisReply> RedisStore::checked(const std::vector<Command>& commands) {
  auto replies = connection_->pipeline(commands);
  for (const auto& r : replies) {
    if (r.type == RedisReply::Type::io_error) throw StoreUnavailable("Redis: " + r.text);
    if (is_transient_error(r)) throw StoreUnavailable("Redis: " + r.text);
    for (const auto& element : r.elements) {  // EXEC's replies, one per queued command
      if (is_transient_error(element)) throw StoreUnavailable("Redis: " + element.text);
    }
  }
  return replies;
}

void RedisStore::prepare() {
  auto replies = checked(std::vector<Command>{
      {"HSETNX", keys_.meta(), "partitions", std::to_string(options_.partitions)},
      {"HSETNX", keys_.meta(), "schema", "1"},
      {"HGET", keys_.meta(), "partitions"}});
  if (replies[2].text != std::to_string(options_.partitions)) {
    throw std::runtime_error(fmt::format(
        "this store was created with {} partitions and nurture.yaml says {}; the count is fixed once the store is "
        "in use (set `partitions: {}`)",
        replies[2].text, options_.partitions, replies[2].text));
  }
  std::vector<Command> groups;
  for (const auto& stream : event_streams()) groups.push_back({"XGROUP", "CREATE", stream, engine_group, "0", "MKSTREAM"});
  for (int p = 0; p < options_.partitions; ++p) {
    groups.push_back({"XGROUP", "CREATE", keys_.outbox(p), dispatch_group, "0", "MKSTREAM"});
  }
  for (const auto& reply : checked(groups)) {
    if (reply.is_error() && reply.text.rfind("BUSYGROUP", 0) != 0) {
      throw StoreUnavailable("cannot create a consumer group: " + reply.text);
    }
  }
  if (!connection_->ensure_loaded(commit_script_) || !connection_->ensure_loaded(release_retries_script_)) {
    throw StoreUnavailable("cannot load the Lua scripts");
  }
}

std::vector<StreamEntry> RedisStore::read_events(int count, std::chrono::milliseconds block) {
  auto read = [&](const char* from, bool blocking) {
    Command command{"XREADGROUP", "GROUP", engine_group, options_.consumer, "COUNT", std::to_string(count)};
    if (blocking) command.insert(command.end(), {"BLOCK", std::to_string(block.count())});
    command.push_back("STREAMS");
    const auto streams = event_streams();
    command.insert(command.end(), streams.begin(), streams.end());
    command.insert(command.end(), streams.size(), from);
    RedisReply reply = checked(command);
    if (reply.is_error()) throw StoreUnavailable("XREADGROUP: " + reply.text);
    std::vector<StreamEntry> entries;
    for_each_stream_entry(reply, [&](const std::string& stream, std::string& id, RedisReply& fields) {
      entries.push_back(stream_entry(stream, std::move(id), field_map(fields)));
    });
    return entries;
  };
  // First this consumer's own pending entries (delivered before a crash, never acknowledged), then new ones.
  if (events_pending_ != PendingReplay::none) {
    auto pending = read_pending_events(count, events_pending_ == PendingReplay::isolated);
    if (!pending.empty()) return pending;
    events_pending_ = PendingReplay::none;
  }
  try {
    return read(">", block.count() > 0);
  } catch (const StoreUnavailable&) {
    // Redis may have handed the entries out (they are pending for this consumer) and the answer been lost with the
    // connection: read the pending ones first next time, rather than leave them for a takeover after the lease.
    events_pending_ = PendingReplay::batch;
    throw;
  }
}

// XPENDING tells the entries and how often each was delivered without touching them; XRANGE reads one without
// counting a delivery, XCLAIM reads one and counts it. Entries trimmed away meanwhile are acknowledged here.
std::vector<StreamEntry> RedisStore::read_pending_events(int count, bool isolated) {
  // Entries trimmed away meanwhile are acknowledged and looked past, until some are found or none are pending.
  while (true) {
    bool any_gone = false;
    auto entries = read_pending_once(count, isolated, any_gone);
    if (!entries.empty() || !any_gone) return entries;
  }
}

std::vector<StreamEntry> RedisStore::read_pending_once(int count, bool isolated, bool& any_gone) {
  const std::vector<std::string> streams = event_streams();
  std::vector<Command> commands;
  for (const auto& stream : streams) {
    commands.push_back({"XPENDING", stream, engine_group, "-", "+", std::to_string(isolated ? 1 : count),
                        options_.consumer});
  }
  struct Pending {
    std::string stream, id;
    int deliveries = 0;
  };
  std::vector<Pending> pending;
  const auto replies = checked(commands);
  for (std::size_t s = 0; s < replies.size(); ++s) {
    for (const auto& item : replies[s].elements) {
      if (item.elements.size() < 4) continue;
      pending.push_back({streams[s], item.elements[0].text, static_cast<int>(item.elements[3].integer)});
    }
  }
  if (isolated && pending.size() > 1) pending.resize(1);
  std::vector<Command> reads;
  for (const auto& p : pending) {
    if (isolated) reads.push_back({"XCLAIM", p.stream, engine_group, options_.consumer, "0", p.id});
    else reads.push_back({"XRANGE", p.stream, p.id, p.id});
  }
  std::vector<StreamEntry> entries;
  std::vector<Command> gone;
  auto found = checked(reads);
  for (std::size_t i = 0; i < found.size(); ++i) {
    RedisReply* entry = nullptr;
    for (auto& e : found[i].elements) {
      if (e.elements.size() == 2 && e.elements[0].text == pending[i].id) entry = &e;
    }
    if (!entry) {
      gone.push_back({"XACK", pending[i].stream, engine_group, pending[i].id});
      continue;
    }
    StreamEntry read = stream_entry(pending[i].stream, pending[i].id, field_map(entry->elements[1]));
    read.earlier_deliveries = pending[i].deliveries;
    entries.push_back(std::move(read));
  }
  if (!gone.empty()) checked(gone);
  any_gone = !gone.empty();
  return entries;
}

void RedisStore::ack_events(const std::vector<const StreamEntry*>& entries) {
  std::map<std::string, Command> by_stream;
  for (const StreamEntry* entry : entries) {
    auto [it, added] = by_stream.try_emplace(entry->stream, Command{"XACK", entry->stream, engine_group});
    it->second.push_back(entry->id);
  }
  std::vector<Command> commands;
  for (auto& [stream, command] : by_stream) commands.push_back(std::move(command));
  if (!commands.empty()) checked(commands);
}

void RedisStore::dead_letter_event(const StreamEntry& entry, const std::string& reason) {
  // The original fields as they came, but a field far past the entry limit is cut (and named) rather than
  // copied whole: a hostile producer cannot make the dead-letter stream hold its megabytes twice.
  constexpr std::size_t max_kept = 64 * 1024;
  Command add{"XADD", keys_.events_dead(), "*"};
  std::string truncated;
  for (const auto& [field, value] : entry.fields) {
    add.insert(add.end(), {field.substr(0, 256), value.substr(0, max_kept)});
    if (value.size() > max_kept) truncated += (truncated.empty() ? "" : ",") + field.substr(0, 256);
  }
  if (!truncated.empty()) add.insert(add.end(), {"truncated", truncated});
  add.insert(add.end(), {"reason", reason, "stream_id", entry.id});
  const std::string& stream = entry.stream.empty() ? keys_.events() : entry.stream;
  in_one_transaction({add, {"XACK", stream, engine_group, entry.id}});
}

// One MULTI on a single Redis. On a cluster the dead-letter stream and a partition's keys are in different slots,
// which no transaction spans: the commands run one after the other, so a crash between them leaves the dead
// letter written and its source not yet removed, and the source is dead-lettered again (a duplicate dead letter,
// never a lost one).
void RedisStore::in_one_transaction(const std::vector<Command>& commands) {
  if (connection_->clustered()) {
    for (const auto& command : commands) checked(command);
    return;
  }
  std::vector<Command> transaction{{"MULTI"}};
  transaction.insert(transaction.end(), commands.begin(), commands.end());
  transaction.push_back({"EXEC"});
  checked(transaction);
}

void RedisStore::dead_letter_timer(const TimerRef& timer, const std::string& reason) {
  const int p = partition_of(timer.lead, options_.partitions);
  in_one_transaction({{"XADD", keys_.events_dead(), "*", "timer", timer.member(), "lead", timer.lead, "workflow",
                       timer.workflow, "reason", reason},
                      {"ZREM", keys_.timers(p), timer.member()}});
}

void RedisStore::add_event(const StreamFields& fields) { add_events({fields}); }

void RedisStore::add_events(const std::vector<StreamFields>& events) {
  std::vector<Command> commands;
  commands.reserve(events.size());
  for (const auto& fields : events) {
    Command add{"XADD", keys_.events(front_door_of(fields)), "*"};
    for (const auto& [field, value] : fields) add.insert(add.end(), {field, value});
    commands.push_back(std::move(add));
  }
  for (const auto& reply : checked(commands)) {
    if (reply.is_error()) throw StoreUnavailable("XADD: " + reply.text);
  }
}

LeadSnapshot RedisStore::load_lead(const std::string& lead) { return std::move(load_leads({lead}).front()); }

std::vector<LeadSnapshot> RedisStore::load_leads(const std::vector<std::string>& leads) {
  std::vector<Command> commands;
  commands.reserve(leads.size());
  for (const auto& lead : leads) {
    commands.push_back({"HGETALL", keys_.lead(partition_of(lead, options_.partitions), lead)});
  }
  auto replies = checked(commands);
  std::vector<LeadSnapshot> snapshots;
  snapshots.reserve(leads.size());
  for (std::size_t i = 0; i < leads.size(); ++i) {
    LeadSnapshot& lead = snapshots.emplace_back();
    lead.id = leads[i];
    const auto& elements = replies[i].elements;
    for (std::size_t j = 0; j + 1 < elements.size(); j += 2) {
      unpack_lead_field(lead, elements[j].text, elements[j + 1].text);
    }
  }
  return snapshots;
}

void RedisStore::scan_leads(int batch, const std::function<bool(std::vector<LeadSnapshot>&)>& visit) {
  // One SCAN over the keyspace for the lead hashes of every partition (`{*}` matches any partition's tag).
  scan_or_throw(keys_.prefix() + "{*}:lead:*", batch, [&](std::vector<std::string>& keys) {
    std::vector<std::string> ids;
    for (const auto& key : keys) {
      const auto at = key.find("}:lead:");
      if (at != std::string::npos) ids.push_back(key.substr(at + 7));
    }
    if (ids.empty()) return true;
    std::vector<LeadSnapshot> leads = load_leads(ids);
    std::erase_if(leads, [](const LeadSnapshot& lead) { return lead.version == 0; });  // gone since the SCAN
    return leads.empty() || visit(leads);
  });
}

std::vector<std::string> RedisStore::event_streams() const {
  std::vector<std::string> streams;
  for (int k = 0; k < options_.event_streams; ++k) streams.push_back(keys_.events(k));
  for (int p = 0; p < options_.partitions; ++p) streams.push_back(keys_.inbox(p));
  return streams;
}

StreamEntry RedisStore::stream_entry(const std::string& stream, std::string id, StreamFields fields) const {
  StreamEntry entry{std::move(id), std::move(fields), stream, true};
  for (int k = 0; k < options_.event_streams; ++k) {
    if (stream == keys_.events(k)) {
      entry.from_inbox = false;
      entry.front_door = k;
    }
  }
  return entry;
}

int RedisStore::front_door_of(const StreamFields& fields) const {
  if (options_.event_streams <= 1) return 0;
  const auto lead = fields.find("lead");
  return lead == fields.end() ? 0 : partition_of(lead->second, options_.event_streams);
}

void RedisStore::scan_or_throw(const std::string& match, int count,
                               const std::function<bool(std::vector<std::string>&)>& visit) {
  const RedisReply failed = connection_->scan_keys(match, count, visit);
  if (failed.is_error()) throw StoreUnavailable("SCAN: " + failed.describe());
}

CommitBlock RedisStore::commit_block(const CommitRequest& request) const {
  const LeadSnapshot& before = *request.before;
  const Transition& t = *request.transition;
  const int p = partition_of(before.id, options_.partitions);
  CommitBlock block;
  block.lead_key = keys_.lead(p, before.id);
  block.timers_key = keys_.timers(p);
  block.outbox_key = keys_.outbox(p);
  if (!request.event_id.empty()) block.seen_key = keys_.seen(p, request.event_id);
  block.sid = compact_stream_id(request.stream_id);
  block.sid_field =
      request.from_inbox ? "ei" : request.front_door == 0 ? "ev" : "ev" + std::to_string(request.front_door);
  block.seen_ttl_s = std::chrono::duration_cast<std::chrono::seconds>(options_.event_dedupe).count();
  block.expected_version = std::to_string(t.expected_version);
  if (t.decided_at != TimePoint{}) block.decided_ms = to_unix_ms(t.decided_at);

  LeadStamp stamp{before.version + 1, {}, {}};
  // A position the snapshot keeps is written with the lead's fields (ev, ei); the other front-door streams' (evK)
  // with the commit's writes, when the block commits.
  if (const auto position = moved_position(request.stream_id, request.from_inbox, request.front_door)) {
    (position == &LeadSnapshot::last_inbox_id ? stamp.last_inbox_id : stamp.last_stream_id) = request.stream_id;
  }
  LeadFieldChanges changes = lead_field_changes(before, t.lead, stamp);
  block.set.reserve(changes.set.size() * 2);
  for (auto& [field, value] : changes.set) {
    block.set.push_back(std::move(field));
    block.set.push_back(std::move(value));
  }
  block.removed = std::move(changes.removed);
  block.timers_added.reserve(t.timers_to_add.size());
  for (const auto& [timer, due] : t.timers_to_add) block.timers_added.emplace_back(to_unix_ms(due), timer.member());
  block.timers_removed.reserve(t.timers_to_remove.size());
  for (const auto& timer : t.timers_to_remove) block.timers_removed.push_back(timer.member());
  block.outbox.reserve(t.actions.size());
  for (const auto& action : t.actions) block.outbox.push_back(packed_outbox_fields(action, 1));
  block.counts.reserve(t.counters.size());
  for (const auto& counter : t.counters) {
    block.counts.push_back({keys_.stats(p, counter.workflow), counter.field, counter.amount});
  }
  return block;
}

CommitOutcome RedisStore::commit(const LeadSnapshot& before, const Transition& t, const std::string& stream_id,
                                 const std::string& event_id) {
  return commit_many({CommitRequest{&before, &t, stream_id, event_id}}).front();
}

std::vector<CommitOutcome> RedisStore::commit_many(const std::vector<CommitRequest>& requests) {
  if (requests.empty()) return {};
  std::set<int> partitions;
  for (const auto& request : requests) partitions.insert(partition_of(request.before->id, options_.partitions));
  auto outcomes = connection_->clustered() || options_.commit_by_script ? commit_by_script(requests)
                                                                         : commit_natively(requests);
  std::vector<std::string> written;
  for (int p : partitions) written.push_back(keys_.lead(p, ""));
  wait_for_replica(written);
  return outcomes;
}

std::vector<CommitOutcome> RedisStore::commit_natively(const std::vector<CommitRequest>& requests) {
  // By partition, so that a transaction's timers and counters fall on few keys (a command per key).
  std::vector<std::size_t> order(requests.size());
  std::vector<int> partition(requests.size());
  for (std::size_t r = 0; r < requests.size(); ++r) {
    order[r] = r;
    partition[r] = partition_of(requests[r].before->id, options_.partitions);
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return partition[a] < partition[b]; });
  std::vector<CommitBlock> blocks;
  blocks.reserve(requests.size());
  for (std::size_t r : order) blocks.push_back(commit_block(requests[r]));
  if (!checkable_together(blocks)) return commit_by_script(requests);
  std::vector<CommitOutcome> decided(requests.size(), CommitOutcome::committed);
  std::vector<std::size_t> by_script;
  try {
    check_and_write(blocks, decided, by_script);
  } catch (...) {
    // A watch must not outlive this commit: a later transaction on the connection would be refused for it.
    connection_->command({"UNWATCH"});
    throw;
  }
  std::vector<CommitOutcome> outcomes(requests.size());
  for (std::size_t b = 0; b < order.size(); ++b) outcomes[order[b]] = decided[b];
  if (!by_script.empty()) {
    std::vector<CommitRequest> rest;
    for (std::size_t b : by_script) rest.push_back(requests[order[b]]);
    const auto scripted = commit_by_script(rest);
    for (std::size_t i = 0; i < by_script.size(); ++i) outcomes[order[by_script[i]]] = scripted[i];
  }
  return outcomes;
}

// A transaction per chunk of blocks (blocks_per_transaction): a chunk's writes go in the same round trip as the next
// chunk's checks.
void RedisStore::check_and_write(std::vector<CommitBlock>& blocks, std::vector<CommitOutcome>& outcomes,
                                 std::vector<std::size_t>& by_script) {
  std::vector<Command> pending;
  std::size_t writing = 0, writing_end = 0;  // the chunk whose MULTI ... EXEC leads `pending`, if any
  for (std::size_t start = 0;; start += blocks_per_transaction) {
    const std::size_t end = std::min(blocks.size(), start + blocks_per_transaction);
    const std::size_t writes = pending.size();
    const std::span<CommitBlock> chunk(blocks.data() + std::min(start, blocks.size()), blocks.data() + end);
    if (!chunk.empty()) {
      auto checks = commit_checks(chunk);
      pending.insert(pending.end(), std::make_move_iterator(checks.begin()), std::make_move_iterator(checks.end()));
    }
    const auto replies = checked(pending);
    if (writing_end > writing) {
      const RedisReply& exec = replies[writes - 1];
      // A watched lead or producer id changed since the checks: nothing of the chunk was written.
      if (exec.is_nil()) {
        for (std::size_t b = writing; b < writing_end; ++b) by_script.push_back(b);
      } else if (exec.is_error()) {
        throw CommitRejected("commit failed: " + exec.text);
      }
      for (const auto& reply : exec.elements) {
        if (reply.is_error()) throw CommitRejected("commit failed: " + reply.text);
      }
    }
    if (chunk.empty()) return;
    const std::span<const RedisReply> checks(replies.data() + writes, replies.data() + replies.size());
    writing = writing_end = 0;
    pending.clear();
    // A key of the wrong type (WRONGTYPE): the script fails the way the engine expects of a broken lead.
    if (std::any_of(checks.begin(), checks.end(), [](const RedisReply& r) { return r.is_error(); })) {
      for (std::size_t b = start; b < end; ++b) by_script.push_back(b);
      pending.push_back({"UNWATCH"});
      continue;
    }
    const auto decided = commit_outcomes(chunk, checks);
    std::copy(decided.begin(), decided.end(), outcomes.begin() + static_cast<long>(start));
    if (options_.between_commit_round_trips) options_.between_commit_round_trips();
    pending = commit_writes(chunk, decided);
    if (pending.empty()) {
      pending.push_back({"UNWATCH"});
    } else {
      writing = start;
      writing_end = end;
    }
  }
}

std::vector<CommitOutcome> RedisStore::commit_by_script(const std::vector<CommitRequest>& requests) {
  // One script call per partition and chunk: the per-call cost of a script is paid once for many leads.
  constexpr std::size_t max_blocks = 64;
  std::map<int, std::vector<std::size_t>> by_partition;
  for (std::size_t r = 0; r < requests.size(); ++r) {
    by_partition[partition_of(requests[r].before->id, options_.partitions)].push_back(r);
  }
  std::vector<std::vector<std::size_t>> calls;
  for (auto& [p, indices] : by_partition) {
    for (std::size_t start = 0; start < indices.size(); start += max_blocks) {
      calls.emplace_back(indices.begin() + static_cast<long>(start),
                         indices.begin() + static_cast<long>(std::min(indices.size(), start + max_blocks)));
    }
  }
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!connection_->ensure_loaded(commit_script_)) throw StoreUnavailable("cannot load the commit script");
    std::vector<Command> commands;
    commands.reserve(calls.size());
    for (const auto& call : calls) {
      // Sized up front, then moved into the command.
      std::vector<std::string> keys;
      keys.reserve(call.size() * 5);
      std::vector<std::string> args;
      args.reserve(call.size() * 48 + 1);
      args.push_back(std::to_string(call.size()));
      for (std::size_t r : call) {
        CommitBlock block = commit_block(requests[r]);
        append_script_block(block, keys, args);
      }
      commands.push_back(RedisConnection::evalsha_command(commit_script_, std::move(keys), std::move(args)));
    }
    const auto replies = checked(commands);
    std::vector<CommitOutcome> outcomes(requests.size(), CommitOutcome::committed);
    bool script_missing = false;
    for (std::size_t c = 0; c < replies.size(); ++c) {
      const auto& reply = replies[c];
      if (reply.is_error() && reply.text.rfind("NOSCRIPT", 0) == 0) {
        script_missing = true;  // Redis restarted and lost its script cache; nothing of this batch ran
        break;
      }
      if (reply.is_error()) throw CommitRejected("commit script failed: " + reply.text);
      for (std::size_t b = 0; b < calls[c].size() && b < reply.elements.size(); ++b) {
        const std::string& text = reply.elements[b].text;
        outcomes[calls[c][b]] = text == "conflict"    ? CommitOutcome::conflict
                                : text == "duplicate" ? CommitOutcome::duplicate
                                                      : CommitOutcome::committed;
      }
    }
    if (!script_missing) return outcomes;
    commit_script_.sha.clear();
  }
  throw StoreUnavailable("the commit script keeps disappearing");
}

std::vector<std::string> RedisStore::heartbeat(std::chrono::milliseconds lease, TimePoint now) {
  const long long at = to_unix_ms(now);
  const auto replies = checked(std::vector<Command>{
      {"ZADD", keys_.engines(), std::to_string(at), options_.consumer},
      {"ZREMRANGEBYSCORE", keys_.engines(), "-inf", std::to_string(at - lease.count())},
      {"ZRANGE", keys_.engines(), "0", "-1"}});
  std::vector<std::string> live;
  for (const auto& member : replies[2].elements) live.push_back(member.text);
  std::sort(live.begin(), live.end());
  return live;
}

std::vector<TimerRef> RedisStore::due_timers(TimePoint now, int limit, const std::vector<int>& partitions) {
  const long long now_ms = to_unix_ms(now);
  // Buckets are filed again a minute or more before their timers fall due, so looking once a second is enough,
  // unless the last look left some behind.
  const bool promote = now_ms >= next_promotion_ms_.load() && connection_->ensure_loaded(promote_buckets_script_);
  std::vector<Command> commands;
  for (int p : partitions_or_all(partitions, options_.partitions)) {
    if (promote) {
      commands.push_back(RedisConnection::evalsha_command(promote_buckets_script_, {keys_.timers(p)},
                                                          {std::to_string(now_ms), keys_.lead(p, ""), "4096"}));
    }
    commands.push_back({"ZRANGEBYSCORE", keys_.timers(p), "-inf", std::to_string(now_ms), "WITHSCORES", "LIMIT",
                        "0", std::to_string(limit)});
  }
  bool buckets_left = false;
  std::vector<std::pair<std::int64_t, std::string>> due;
  for (const auto& reply : checked(commands)) {
    if (reply.type == RedisReply::Type::error && reply.text.rfind("NOSCRIPT", 0) == 0) {
      promote_buckets_script_.sha.clear();  // Redis restarted: loaded again on the next look
      buckets_left = true;
    } else if (reply.is_error()) {
      throw StoreUnavailable("timers: " + reply.text);
    } else if (promote && reply.elements.size() == 2 && reply.elements[0].type == RedisReply::Type::integer) {
      buckets_left = buckets_left || reply.elements[1].integer > 0;
    } else {
      for (std::size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
        due.emplace_back(std::stoll(reply.elements[i + 1].text), reply.elements[i].text);
      }
    }
  }
  if (promote) next_promotion_ms_ = buckets_left ? now_ms : now_ms + 1000;
  return timers_in_due_order(std::move(due));
}

Store::PinnedWorkflow RedisStore::pin_workflow(const std::string& id, const std::string& source) {
  RedisReply current = connection_->eval(pin_script_, {keys_.workflow(id)}, {source});
  if (current.type == RedisReply::Type::io_error) throw StoreUnavailable("Redis: " + current.text);
  if (current.is_error()) throw std::runtime_error("pinning a workflow version failed: " + current.text);
  PinnedWorkflow pinned;
  pinned.current = static_cast<int>(current.integer);
  RedisReply all = checked(Command{"HGETALL", keys_.workflow(id)});
  for (std::size_t i = 0; i + 1 < all.elements.size(); i += 2) {
    pinned.versions[std::stoi(all.elements[i].text)] = all.elements[i + 1].text;
  }
  return pinned;
}

std::string RedisStore::workflow_version(const std::string& id, int version) {
  return checked(Command{"HGET", keys_.workflow(id), std::to_string(version)}).text;
}

std::vector<int> RedisStore::workflow_versions(const std::string& id) {
  std::vector<int> versions;
  for (const auto& field : checked(Command{"HKEYS", keys_.workflow(id)}).elements) {
    int version = 0;
    const auto [end, ec] = std::from_chars(field.text.data(), field.text.data() + field.text.size(), version);
    if (ec == std::errc{} && end == field.text.data() + field.text.size()) versions.push_back(version);
  }
  std::sort(versions.begin(), versions.end());
  return versions;
}

std::string RedisStore::read_meta(const std::string& field) {
  return checked(Command{"HGET", keys_.meta(), field}).text;
}

void RedisStore::write_meta(const std::string& field, const std::string& value) {
  checked(Command{"HSET", keys_.meta(), field, value});
}

std::map<std::string, long> RedisStore::workflow_counters(const std::string& workflow) {
  std::vector<Command> commands;
  for (int p = 0; p < options_.partitions; ++p) commands.push_back({"HGETALL", keys_.stats(p, workflow)});
  std::map<std::string, long> sums;
  for (const auto& reply : checked(commands)) {
    for (std::size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
      sums[reply.elements[i].text] += std::stol(reply.elements[i + 1].text);
    }
  }
  return sums;
}

int RedisStore::reclaim(const std::vector<std::string>& streams, const char* group, std::chrono::milliseconds idle) {
  std::vector<Command> commands;
  for (const auto& stream : streams) {
    commands.push_back({"XAUTOCLAIM", stream, group, options_.consumer, std::to_string(idle.count()), "0-0",
                        "COUNT", "1000", "JUSTID"});
  }
  int claimed = 0;
  for (const auto& reply : checked(commands)) {
    if (reply.elements.size() >= 2) claimed += static_cast<int>(reply.elements[1].elements.size());
  }
  return claimed;
}

int RedisStore::reclaim_events(std::chrono::milliseconds idle) {
  const int claimed = reclaim(event_streams(), engine_group, idle);
  if (claimed > 0) events_pending_ = PendingReplay::isolated;  // ours now: read them from our pending list
  return claimed;
}

int RedisStore::reclaim_outbox(std::chrono::milliseconds idle) {
  std::vector<std::string> streams;
  for (int p = 0; p < options_.partitions; ++p) streams.push_back(keys_.outbox(p));
  const int claimed = reclaim(streams, dispatch_group, idle);
  if (claimed > 0) outbox_pending_drained_ = false;
  return claimed;
}

void RedisStore::trim_streams() {
  std::vector<std::pair<std::string, const char*>> streams;
  for (const auto& stream : event_streams()) streams.emplace_back(stream, engine_group);
  for (int p = 0; p < options_.partitions; ++p) streams.emplace_back(keys_.outbox(p), dispatch_group);
  std::vector<Command> commands;
  for (const auto& [stream, group] : streams) {
    commands.push_back({"XPENDING", stream, group});
    commands.push_back({"XINFO", "GROUPS", stream});
  }
  const auto replies = checked(commands);
  std::vector<Command> trims;
  for (std::size_t i = 0; i < streams.size(); ++i) {
    const RedisReply& pending = replies[2 * i];
    const RedisReply& groups = replies[2 * i + 1];
    if (pending.is_error() || groups.is_error()) continue;
    // Everything before the oldest pending entry, or before the last delivered one when none is pending, is done
    // for every group (several groups: the least advanced one decides).
    std::string keep_from;
    if (pending.elements.size() >= 2 && pending.elements[0].integer > 0) keep_from = pending.elements[1].text;
    for (const auto& group : groups.elements) {
      for (std::size_t f = 0; f + 1 < group.elements.size(); f += 2) {
        if (group.elements[f].text != "last-delivered-id") continue;
        const std::string& delivered = group.elements[f + 1].text;
        auto before = [](const std::string& a, const std::string& b) {
          const auto da = a.find('-'), db = b.find('-');
          const long long ma = std::stoll(a.substr(0, da)), mb = std::stoll(b.substr(0, db));
          return ma != mb ? ma < mb : std::stoll(a.substr(da + 1)) < std::stoll(b.substr(db + 1));
        };
        if (keep_from.empty() || before(delivered, keep_from)) keep_from = delivered;
      }
    }
    if (!keep_from.empty() && keep_from != "0-0") trims.push_back({"XTRIM", streams[i].first, "MINID", "~", keep_from});
  }
  if (!trims.empty()) checked(trims);
}

std::optional<TimePoint> RedisStore::timer_due(const TimerRef& timer) {
  const int p = partition_of(timer.lead, options_.partitions);
  const auto replies = checked(std::vector<Command>{{"ZSCORE", keys_.timers(p), timer.member()},
                                                    {"ZSCORE", keys_.held_timers(p, timer.workflow), timer.member()}});
  for (const auto& reply : replies) {
    if (reply.type == RedisReply::Type::string) return from_unix_ms(std::stoll(reply.text));
  }
  const RedisReply bucketed = connection_->eval(find_bucketed_script_, {keys_.timers(p)}, {timer.member()});
  if (bucketed.type == RedisReply::Type::string) return from_unix_ms(std::stoll(bucketed.text));
  if (bucketed.is_error()) throw StoreUnavailable("timers: " + bucketed.text);
  return std::nullopt;
}

std::optional<TimePoint> RedisStore::next_timer_due() {
  // A bucket's time comes before its timers fall due: an early answer, never a late one.
  std::vector<Command> commands;
  for (int p = 0; p < options_.partitions; ++p) {
    commands.push_back({"ZRANGE", keys_.timers(p), "0", "0", "WITHSCORES"});
    commands.push_back({"ZRANGE", keys_.timers(p) + ":b", "0", "0", "WITHSCORES"});
  }
  std::optional<long long> earliest;
  for (const auto& reply : checked(commands)) {
    if (reply.elements.size() != 2) continue;
    const long long due = std::stoll(reply.elements[1].text);
    if (!earliest || due < *earliest) earliest = due;
  }
  if (!earliest) return std::nullopt;
  return from_unix_ms(*earliest);
}

void RedisStore::release_due_retries(TimePoint now, const std::vector<int>& partitions) {
  connection_->ensure_loaded(release_retries_script_);
  std::vector<Command> commands;
  for (int p : partitions_or_all(partitions, options_.partitions)) {
    commands.push_back(RedisConnection::evalsha_command(release_retries_script_, {keys_.retries(p), keys_.outbox(p)},
                                                        {std::to_string(to_unix_ms(now))}));
  }
  for (const auto& reply : checked(commands)) {
    if (reply.is_error() && reply.text.rfind("NOSCRIPT", 0) == 0) {
      release_retries_script_.sha.clear();  // Redis restarted without its script cache: load again next time
      return;
    }
  }
}

std::vector<OutboxEntry> RedisStore::read_outbox(int count, std::chrono::milliseconds block) {
  if (!outbox_pending_drained_) {
    auto pending = read_outbox_from("0", count, std::chrono::milliseconds(0));
    if (!pending.empty()) return pending;
    outbox_pending_drained_ = true;
  }
  try {
    return read_outbox_from(">", count, block);
  } catch (const StoreUnavailable&) {
    outbox_pending_drained_ = false;  // as for events: entries handed out with an answer that never came
    throw;
  }
}

std::vector<OutboxEntry> RedisStore::read_outbox_from(const char* from, int count, std::chrono::milliseconds block) {
  Command command{"XREADGROUP", "GROUP", dispatch_group, options_.consumer, "COUNT", std::to_string(count)};
  if (block.count() > 0) command.insert(command.end(), {"BLOCK", std::to_string(block.count())});
  command.push_back("STREAMS");
  for (int p = 0; p < options_.partitions; ++p) command.push_back(keys_.outbox(p));
  for (int p = 0; p < options_.partitions; ++p) command.push_back(from);
  RedisReply reply = checked(command);
  if (reply.is_error()) throw StoreUnavailable("XREADGROUP: " + reply.text);

  std::vector<OutboxEntry> entries;
  // The reply names each entry's stream; the partition is found once per stream, not per entry.
  const std::string* last_stream = nullptr;
  int last_partition = 0;
  for_each_stream_entry(reply, [&](const std::string& stream, std::string& id, RedisReply& flat) {
    if (last_stream != &stream) {
      last_stream = &stream;
      for (int p = 0; p < options_.partitions; ++p) {
        if (command[command.size() - 2 * options_.partitions + p] == stream) last_partition = p;
      }
    }
    StreamFields f = field_map(flat);
    OutboxEntry entry;
    entry.stream_id = std::move(id);
    entry.partition = last_partition;
    if (const auto packed = f.find("p"); packed != f.end()) {
      entry.action.lead = std::move(f["lead"]);
      // One that does not parse goes on with what it has (no action id, no template) and fails on its own.
      if (!unpack_outbox_value(packed->second, entry.action, entry.attempt)) {
        spdlog::error("outbox entry {} does not parse; it fails as it is", entry.stream_id);
      }
      entries.push_back(std::move(entry));
      return;
    }
    entry.action.action_id = std::move(f["aid"]);
    entry.action.lead = std::move(f["lead"]);
    entry.action.workflow = std::move(f["wf"]);
    entry.action.version = f["v"].empty() ? 1 : std::stoi(f["v"]);
    entry.action.step = std::move(f["step"]);
    entry.action.kind = std::move(f["kind"]);
    entry.action.template_name = std::move(f["tpl"]);
    entry.action.connector = std::move(f["conn"]);
    entry.action.to = std::move(f["to"]);
    entry.action.note = std::move(f["note"]);
    entry.action.lead_data = std::move(f["ld"]);
    if (!f["due"].empty()) entry.action.due_ms = std::stoll(f["due"]);
    entry.action.arms = std::move(f["arms"]);
    entry.attempt = f["attempt"].empty() ? 1 : std::stoi(f["attempt"]);
    entries.push_back(std::move(entry));
  });
  return entries;
}

namespace {
constexpr long long ms_per_day = 86'400'000;

// The UTC day of a stream entry id (`<ms>-<seq>`).
long long entry_day(const std::string& stream_id) { return std::atoll(stream_id.c_str()) / ms_per_day; }

// Dispatch records grouped by the hash that holds them (partition and day of the outbox entry), in first-seen
// order, so one command reads or writes a whole group.
template <typename Entry, typename KeyOf>
std::vector<std::pair<std::string, std::vector<std::size_t>>> by_record_key(const std::vector<Entry>& entries,
                                                                            KeyOf key_of) {
  std::vector<std::pair<std::string, std::vector<std::size_t>>> groups;
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    std::string key = key_of(entries[i]);
    auto [it, added] = index.try_emplace(key, groups.size());
    if (added) groups.emplace_back(std::move(key), std::vector<std::size_t>{});
    groups[it->second].second.push_back(i);
  }
  return groups;
}
}  // namespace

std::string RedisStore::record_key(const OutboxEntry& entry) const {
  return keys_.done(entry.partition, entry_day(entry.stream_id));
}

// The hash of a day's records lives the record TTL past the end of that day.
Command RedisStore::record_expiry(const OutboxEntry& entry) const {
  const long long day = entry_day(entry.stream_id);
  const long long ttl = std::chrono::duration_cast<std::chrono::seconds>(options_.dispatch_record_ttl).count();
  return {"EXPIREAT", record_key(entry), std::to_string((day + 1) * (ms_per_day / 1000) + ttl)};
}

std::vector<DispatchCheck> RedisStore::check_and_claim(const std::vector<OutboxEntry>& entries) {
  // Reads only: suppression for the whole batch in one SMISMEMBER, the records of each partition's day in one HMGET.
  // Nothing is written: an action with no record is free to send (the consumer group's pending entry says who
  // holds it), and one marked `p` was handed to a connector by an attempt that did not finish.
  std::vector<Command> commands;
  std::vector<std::size_t> emails;
  Command suppressed{"SMISMEMBER", keys_.suppress("email")};
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].action.kind != "email") continue;
    emails.push_back(i);
    // An erased lead's address is kept only as its hash: both forms are looked up.
    const std::string key = text::address_key(entries[i].action.to);
    suppressed.push_back(key);
    suppressed.push_back(text::hash_of_address_key(key));
  }
  if (!emails.empty()) commands.push_back(std::move(suppressed));
  const auto groups = by_record_key(entries, [&](const OutboxEntry& e) { return record_key(e); });
  for (const auto& [key, members] : groups) {
    Command read{"HMGET", key};
    for (std::size_t i : members) read.push_back(entries[i].action.action_id);
    commands.push_back(std::move(read));
  }
  const auto replies = checked(commands);
  std::vector<DispatchCheck> checks(entries.size());
  std::size_t next = 0;
  if (!emails.empty()) {
    const RedisReply& flags = replies[next++];
    if (flags.is_error()) throw StoreUnavailable("SMISMEMBER: " + flags.text);
    for (std::size_t k = 0; k < emails.size() && 2 * k + 1 < flags.elements.size(); ++k) {
      checks[emails[k]].suppressed = flags.elements[2 * k].integer == 1 || flags.elements[2 * k + 1].integer == 1;
    }
  }
  std::map<std::pair<int, std::string>, long> reclaimed;
  for (const auto& [key, members] : groups) {
    const RedisReply& records = replies[next++];
    if (records.is_error()) throw StoreUnavailable("HMGET: " + records.text);
    for (std::size_t k = 0; k < members.size(); ++k) {
      const std::string& record = k < records.elements.size() ? records.elements[k].text : std::string();
      const OutboxEntry& entry = entries[members[k]];
      ClaimOutcome& claim = checks[members[k]].claim;
      if (record.empty() || record[0] == 'r' || record[0] == 'c') {
        claim = ClaimOutcome::claimed;  // never handed over, or a retry coming back
      } else if (record[0] == 'p') {    // handed to a connector, no result: it may have been sent
        claim = ClaimOutcome::claimed_again;
        ++reclaimed[{entry.partition, entry.action.workflow}];
      } else {
        claim = ClaimOutcome::already_done;
      }
    }
  }
  std::vector<Command> counts;
  for (const auto& [where, n] : reclaimed) {
    counts.push_back({"HINCRBY", keys_.stats(where.first, where.second), "dispatch_reclaimed", std::to_string(n)});
  }
  if (!counts.empty()) checked(counts);
  return checks;
}

void RedisStore::mark_sending(const std::vector<const OutboxEntry*>& entries) {
  std::vector<Command> commands;
  for (const auto& [key, members] : by_record_key(entries, [&](const OutboxEntry* e) { return record_key(*e); })) {
    Command mark{"HSET", key};
    for (std::size_t i : members) mark.insert(mark.end(), {entries[i]->action.action_id, "p"});
    commands.push_back(std::move(mark));
    commands.push_back(record_expiry(*entries[members.front()]));
  }
  if (!commands.empty()) checked(commands);
}

namespace {
// What one partition's share of a batch of results writes, in one MULTI: the records, the acknowledgements, the
// counters summed, the dead letters and the raised events.
struct PartitionResults {
  std::map<std::string, Command> records;  // by record hash
  std::vector<Command> expiries;
  Command ack;
  std::map<std::pair<std::string, std::string>, long> counts;  // (workflow, field) -> increment
  std::vector<Command> appends;                                // dead letters, raised events
};
}  // namespace

void RedisStore::record_many(const std::vector<DispatchRecord>& records) {
  std::map<int, PartitionResults> by_partition;
  std::vector<Command> outside;  // global keys, outside the partition's slot
  Command suppress{"SADD", keys_.suppress("email")};
  for (const auto& record : records) {
    const OutboxEntry& entry = *record.entry;
    const int p = entry.partition;
    PartitionResults& results = by_partition[p];
    if (results.ack.empty()) results.ack = {"XACK", keys_.outbox(p), dispatch_group};
    results.ack.push_back(entry.stream_id);
    const std::string key = record_key(entry);
    auto [it, added] = results.records.try_emplace(key, Command{"HSET", key});
    if (added) results.expiries.push_back(record_expiry(entry));
    it->second.insert(it->second.end(),
                      {entry.action.action_id,
                       fmt::format(FMT_COMPILE("{}:{}"), outcome_letter(record.outcome), record.detail)});
    for (auto& counter : outcome_counters(record)) ++results.counts[{entry.action.workflow, std::move(counter)}];
    if (record.outcome == DispatchOutcome::failed) {
      Command dead{"XADD", keys_.outbox_dead(p), "*"};
      auto fields = outbox_fields(entry.action, entry.attempt);
      dead.insert(dead.end(), fields.begin(), fields.end());
      dead.insert(dead.end(), {"reason", record.detail});
      results.appends.push_back(std::move(dead));
    }
    // The outcome comes back to the lead as an event (docs/events.md), through the partition's inbox: same slot,
    // same transaction, so it is raised exactly when the result is recorded.
    if (is_scheduled_post(entry.action)) {
      results.appends.push_back({"HSET", keys_.posts(p), post_state_field(entry.action), post_state(record)});
    }
    if (auto raised = raised_event(record)) {
      Command add{"XADD", keys_.inbox(p), "*"};
      for (const char* field : {"type", "lead", "at", "props"}) add.insert(add.end(), {field, raised->at(field)});
      results.appends.push_back(std::move(add));
    }
    if (record.outcome == DispatchOutcome::sent && record.remember_lead) {
      outside.push_back({"SET", keys_.action_lead(entry.action.action_id), entry.action.lead, "EX", "604800"});
    }
    if (record.outcome == DispatchOutcome::suppressed && !entry.action.to.empty()) {
      suppress.push_back(text::address_key(entry.action.to));  // read by the dispatcher for every lead
    }
  }
  std::vector<Command> commands;
  for (auto& [p, results] : by_partition) {
    commands.push_back({"MULTI"});
    for (auto& [key, command] : results.records) commands.push_back(std::move(command));
    for (auto& command : results.expiries) commands.push_back(std::move(command));
    commands.push_back(std::move(results.ack));
    for (const auto& [counter, n] : results.counts) {
      commands.push_back({"HINCRBY", keys_.stats(p, counter.first), counter.second, std::to_string(n)});
    }
    for (auto& command : results.appends) commands.push_back(std::move(command));
    commands.push_back({"EXEC"});
  }
  for (auto& command : outside) commands.push_back(std::move(command));
  if (suppress.size() > 2) commands.push_back(std::move(suppress));
  // Transient errors (OOM...) throw in checked(), and the whole batch is recorded again later. Any other error in
  // a record (queued in MULTI, or inside EXEC's replies) means a result was not stored: that must not pass
  // silently, since the action would be sent again after a restart.
  for (const auto& reply : checked(commands)) {
    const RedisReply* failed = reply.is_error() ? &reply : nullptr;
    for (const auto& element : reply.elements) {
      if (element.is_error()) failed = &element;
    }
    if (failed) throw CommitRejected("recording a dispatch result failed: " + failed->text);
  }
  // The results are recorded whatever WAIT says: failing here would send them again (a duplicate is worse than
  // a record a failover might take back, which costs at most that duplicate later).
  std::vector<std::string> written;
  for (const auto& [p, results] : by_partition) written.push_back(keys_.outbox(p));
  try {
    wait_for_replica(written);
  } catch (const StoreUnavailable& e) {
    spdlog::warn("dispatch results recorded without a replica: {}", e.what());
  }
}

// `durability: replicated`: the writes so far are on a replica of each master holding one of `keys`, or the work
// counts as not done (StoreUnavailable): a commit is then made again (its compare-and-set makes that harmless) and
// its event acknowledged only after a replica has it. A master without a replica (after a failover, until the old
// master returns as its replica) so holds up its partitions' commits: that is what `replicated` promises.
void RedisStore::wait_for_replica(const std::vector<std::string>& keys) {
  if (!options_.wait_for_replica || keys.empty()) return;
  const RedisReply acknowledged = connection_->wait_replicas(keys, 1, options_.replica_timeout);
  if (acknowledged.is_error()) throw StoreUnavailable("WAIT: " + acknowledged.describe());
  if (acknowledged.integer < 1) {
    throw StoreUnavailable(fmt::format("no replica had the writes within {} ms (durability: replicated)",
                                       options_.replica_timeout.count()));
  }
}

void RedisStore::ack_outbox(const OutboxEntry& entry) {
  checked(Command{"XACK", keys_.outbox(entry.partition), dispatch_group, entry.stream_id});
}

bool RedisStore::is_suppressed(const std::string& channel, const std::string& address) {
  const std::string key = text::address_key(address);
  const RedisReply flags =
      checked(Command{"SMISMEMBER", keys_.suppress(channel), key, text::hash_of_address_key(key)});
  if (flags.is_error()) throw StoreUnavailable("SMISMEMBER: " + flags.text);
  for (const auto& flag : flags.elements) {
    if (flag.integer == 1) return true;
  }
  return false;
}

void RedisStore::suppress(const std::string& channel, const std::string& address) {
  if (address.empty()) return;
  checked(Command{"SADD", keys_.suppress(channel), text::address_key(address)});
}

long RedisStore::suppress_many(const std::string& channel, const std::vector<std::string>& addresses) {
  constexpr std::size_t chunk = 1000;
  std::vector<Command> commands;
  for (std::size_t from = 0; from < addresses.size(); from += chunk) {
    Command add{"SADD", keys_.suppress(channel)};
    for (std::size_t i = from; i < std::min(addresses.size(), from + chunk); ++i) {
      if (!addresses[i].empty()) add.push_back(text::address_key(addresses[i]));
    }
    if (add.size() > 2) commands.push_back(std::move(add));
  }
  long added = 0;
  for (const auto& reply : checked(commands)) {
    if (reply.is_error()) throw StoreUnavailable("SADD: " + reply.text);
    added += reply.integer;
  }
  return added;
}

bool RedisStore::unsuppress(const std::string& channel, const std::string& address) {
  return checked(Command{"SREM", keys_.suppress(channel), text::address_key(address)}).integer == 1;
}

void RedisStore::scan_suppressed(const std::string& channel,
                                 const std::function<bool(const std::vector<std::string>&)>& visit) {
  std::string cursor = "0";
  do {
    RedisReply page = checked(Command{"SSCAN", keys_.suppress(channel), cursor, "COUNT", "1000"});
    if (page.is_error() || page.elements.size() != 2) throw StoreUnavailable("SSCAN: " + page.describe());
    cursor = page.elements[0].text;
    std::vector<std::string> some;
    for (auto& member : page.elements[1].elements) some.push_back(std::move(member.text));
    if (!some.empty() && !visit(some)) return;
  } while (cursor != "0");
}

std::string RedisStore::lead_of_action(const std::string& action_id) {
  return checked(Command{"GET", keys_.action_lead(action_id)}).text;
}

void RedisStore::schedule_retry(const OutboxEntry& entry, TimePoint due, const std::string& reason) {
  reschedule(entry, due, entry.attempt + 1, "retried", reason);
}

void RedisStore::defer(const OutboxEntry& entry, TimePoint due, const std::string& reason) {
  reschedule(entry, due, entry.attempt, "deferred", reason);
}

void RedisStore::reschedule(const OutboxEntry& entry, TimePoint due, int next_attempt, const std::string& stat,
                            const std::string& reason) {
  const int p = entry.partition;
  nlohmann::json member = outbox_fields(entry.action, next_attempt);
  std::vector<Command> commands{
      {"MULTI"},
      {"ZADD", keys_.retries(p), std::to_string(to_unix_ms(due)),
       member.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)},
      {"HSET", record_key(entry), entry.action.action_id, fmt::format("r:{}", entry.attempt)},
      record_expiry(entry),
      {"XACK", keys_.outbox(p), dispatch_group, entry.stream_id},
      {"HINCRBY", keys_.stats(p, entry.action.workflow), fmt::format("step:{}:{}", entry.action.step, stat), "1"}};
  if (is_scheduled_post(entry.action)) {
    commands.push_back({"HSET", keys_.posts(p), post_state_field(entry.action),
                        fmt::format("r:{}:{}", next_attempt, reason)});
  }
  commands.push_back({"EXEC"});
  checked(commands);
}

}  // namespace nurture::engine::redis
