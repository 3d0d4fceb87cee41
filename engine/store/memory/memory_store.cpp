// Each method does in memory what its Redis counterpart does in one round trip; the claim and result records use
// the same letters (c: claimed, p: handed to a connector, r:N: waiting to be retried, s:/f:/x:/k: a result), so
// the two stores decide alike.

#include "engine/store/memory/memory_store.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/compile.h>
#include <fmt/format.h>

#include "engine/core/identity.hpp"
#include "text/address.hpp"

namespace nurture::engine::memory {

namespace {

bool starts_with(const std::string& text, const char* prefix) { return text.rfind(prefix, 0) == 0; }

}  // namespace

MemoryStore::MemoryStore(const Clock& clock, MemoryStoreOptions options)
    : clock_(clock),
      options_(std::move(options)),
      event_streams_(static_cast<std::size_t>(options_.partitions) + 1),
      outboxes_(static_cast<std::size_t>(options_.partitions)),
      timers_(static_cast<std::size_t>(options_.partitions)),
      retries_(static_cast<std::size_t>(options_.partitions)) {}

// --- stream ids -----------------------------------------------------------------------------------------------

MemoryStore::StreamId MemoryStore::next_id() {
  const std::int64_t ms = to_unix_ms(clock_.now());
  last_id_ = ms > last_id_.first ? StreamId{ms, 0} : StreamId{last_id_.first, last_id_.second + 1};
  return last_id_;
}

std::string MemoryStore::id_text(StreamId id) { return fmt::format(FMT_COMPILE("{}-{}"), id.first, id.second); }

std::optional<MemoryStore::StreamId> MemoryStore::parse_id(const std::string& text) {
  const auto dash = text.find('-');
  if (dash == std::string::npos) return std::nullopt;
  StreamId id;
  const char* end = text.data() + text.size();
  if (std::from_chars(text.data(), text.data() + dash, id.first).ec != std::errc{}) return std::nullopt;
  if (std::from_chars(text.data() + dash + 1, end, id.second).ec != std::errc{}) return std::nullopt;
  return id;
}

// --- events ---------------------------------------------------------------------------------------------------

void MemoryStore::add_event(const StreamFields& fields) { event_streams_[0].entries.emplace(next_id(), fields); }

void MemoryStore::add_events(const std::vector<StreamFields>& events) {
  for (const auto& fields : events) add_event(fields);
}

MemoryStore::Stream<StreamFields>& MemoryStore::event_stream(const StreamEntry& entry) {
  if (!entry.from_inbox) return event_streams_[0];
  const auto p = static_cast<std::size_t>(std::stoi(entry.stream.substr(entry.stream.rfind(':') + 1)));
  return event_streams_.at(p + 1);
}

std::vector<StreamEntry> MemoryStore::read_events(int count, std::chrono::milliseconds) {
  if (events_replay_ != Replay::none) {
    auto pending = read_pending_events(count);
    if (!pending.empty()) return pending;
    events_replay_ = Replay::none;
  }
  // Like one XREADGROUP over the front door and the inboxes: up to `count` new entries from each.
  std::vector<StreamEntry> read;
  for (std::size_t s = 0; s < event_streams_.size(); ++s) {
    auto& stream = event_streams_[s];
    int taken = 0;
    for (auto it = stream.entries.upper_bound(stream.last_delivered); it != stream.entries.end() && taken < count;
         ++it, ++taken) {
      stream.last_delivered = it->first;
      stream.pending[it->first] = 1;
      read.push_back({id_text(it->first), it->second, s == 0 ? "events" : fmt::format("inbox:{}", s - 1), s != 0});
    }
  }
  return read;
}

// Entries delivered before and not acknowledged, each with how often it was delivered; in isolation one at a
// time, that one's delivery counted again (an entry that keeps failing shows it).
std::vector<StreamEntry> MemoryStore::read_pending_events(int count) {
  const bool isolated = events_replay_ == Replay::isolated;
  std::vector<StreamEntry> read;
  for (std::size_t s = 0; s < event_streams_.size(); ++s) {
    auto& stream = event_streams_[s];
    for (auto& [id, deliveries] : stream.pending) {
      if (static_cast<int>(read.size()) >= (isolated ? 1 : count)) break;
      StreamEntry entry{id_text(id), stream.entries.at(id), s == 0 ? "events" : fmt::format("inbox:{}", s - 1),
                        s != 0};
      entry.earlier_deliveries = deliveries;
      if (isolated) ++deliveries;
      read.push_back(std::move(entry));
    }
  }
  return read;
}

void MemoryStore::ack_events(const std::vector<const StreamEntry*>& entries) {
  for (const StreamEntry* entry : entries) {
    if (auto id = parse_id(entry->id)) event_stream(*entry).pending.erase(*id);
  }
}

void MemoryStore::replay_pending() {
  if (events_replay_ == Replay::none) events_replay_ = Replay::batch;
  outbox_replay_ = true;
}

void MemoryStore::dead_letter_event(const StreamEntry& entry, const std::string& reason) {
  StreamFields fields = entry.fields;
  fields["stream_id"] = entry.id;
  dead_events_.push_back({std::move(fields), reason});
  ack_events({&entry});
}

void MemoryStore::dead_letter_timer(const TimerRef& timer, const std::string& reason) {
  dead_events_.push_back(
      {{{"timer", timer.member()}, {"lead", timer.lead}, {"workflow", timer.workflow}}, reason});
  if (auto stored = leads_.find(timer.lead); stored != leads_.end()) remove_timer(stored, timer);
}

void MemoryStore::trim_streams() {
  // Delivered and acknowledged entries are done with; pending and undelivered ones stay.
  auto trim = [](auto& stream) {
    for (auto it = stream.entries.begin(); it != stream.entries.end() && it->first <= stream.last_delivered;) {
      it = stream.pending.count(it->first) ? std::next(it) : stream.entries.erase(it);
    }
  };
  for (auto& stream : event_streams_) trim(stream);
  for (auto& stream : outboxes_) trim(stream);
}

// --- leads and commits ----------------------------------------------------------------------------------------

LeadSnapshot MemoryStore::load_lead(const std::string& lead) {
  auto it = leads_.find(lead);
  if (it != leads_.end()) return it->second.lead;
  LeadSnapshot fresh;
  fresh.id = lead;
  return fresh;
}

std::vector<LeadSnapshot> MemoryStore::load_leads(const std::vector<std::string>& leads) {
  std::vector<LeadSnapshot> snapshots;
  snapshots.reserve(leads.size());
  for (const auto& lead : leads) snapshots.push_back(load_lead(lead));
  return snapshots;
}

void MemoryStore::scan_leads(int batch, const std::function<bool(std::vector<LeadSnapshot>&)>& visit) {
  std::vector<LeadSnapshot> some;
  for (const auto& [id, stored] : leads_) {
    some.push_back(stored.lead);
    if (static_cast<int>(some.size()) < std::max(batch, 1)) continue;
    if (!visit(some)) return;
    some.clear();
  }
  if (!some.empty()) visit(some);
}

CommitOutcome MemoryStore::commit(const LeadSnapshot& before, const Transition& transition,
                                  const std::string& stream_id, const std::string& event_id) {
  return commit_at(leads_.find(before.id), CommitRequest{&before, &transition, stream_id, event_id});
}

std::vector<CommitOutcome> MemoryStore::commit_many(const std::vector<CommitRequest>& requests) {
  std::vector<CommitOutcome> outcomes;
  outcomes.reserve(requests.size());
  for (const auto& request : requests) outcomes.push_back(commit_at(leads_.find(request.before->id), request));
  return outcomes;
}

std::map<std::string, LeadSnapshot> MemoryStore::leads() const {
  std::map<std::string, LeadSnapshot> leads;
  for (const auto& [id, stored] : leads_) leads.emplace(id, stored.lead);
  return leads;
}

MemoryStore::Taken MemoryStore::take_lead(const std::string& lead) {
  const auto stored = leads_.find(lead);
  stamp_.id = lead;
  if (stored == leads_.end()) {
    stamp_.version = 0;
    Taken fresh{stored, {}};
    fresh.lead.id = lead;
    return fresh;
  }
  LeadSnapshot& kept = stored->second.lead;
  stamp_.version = kept.version;
  Taken taken{stored, std::move(kept)};
  kept.version = stamp_.version;  // the commit compares it with the transition's expected version
  return taken;
}

// `stored`: the request's lead, found (end() if never stored). `movable`: the request's transition, when its parts
// may be moved rather than copied.
CommitOutcome MemoryStore::commit_at(Leads::iterator stored, const CommitRequest& request, Transition* movable) {
  const LeadSnapshot& before = *request.before;
  const Transition& t = *request.transition;
  static const LeadSnapshot never_stored;
  const LeadSnapshot& current = stored == leads_.end() ? never_stored : stored->second.lead;
  const TimePoint now = clock_.now();
  // One front door here: every entry's position is one the snapshot keeps.
  const auto position = moved_position(request.stream_id, request.from_inbox, request.front_door);
  if (position) {
    const auto applied = parse_id(current.*position), id = parse_id(request.stream_id);
    if (applied && id && *id <= *applied) return CommitOutcome::duplicate;
  }
  if (!request.event_id.empty()) {
    auto seen = seen_until_.find(request.event_id);
    if (seen != seen_until_.end() && seen->second > now) return CommitOutcome::duplicate;
  }
  if (current.version != t.expected_version) return CommitOutcome::conflict;

  if (stored == leads_.end()) stored = leads_.try_emplace(before.id).first;
  const std::string& id = stored->first;
  const std::uint64_t version = before.version + 1;  // the lead's version once this commit is applied
  LeadSnapshot& after = stored->second.lead;
  if (movable) after = std::move(movable->lead);
  else after = t.lead;
  after.version = version;
  if (position) after.*position = request.stream_id;
  if (!request.event_id.empty()) seen_until_[request.event_id] = now + options_.event_dedupe;
  for (const auto& [timer, due] : t.timers_to_add) add_timer(stored, timer, to_unix_ms(due));
  for (const auto& timer : t.timers_to_remove) remove_timer(stored, timer);
  const auto p = static_cast<std::size_t>(partition_of(id, options_.partitions));
  for (std::size_t a = 0; a < t.actions.size(); ++a) {
    const StreamId stream_id = next_id();
    auto& entries = outboxes_[p].entries;  // ids only grow: the new entry goes last, no search for its place
    entries.emplace_hint(entries.end(), stream_id,
                         OutboxEntry{static_cast<int>(p), id_text(stream_id),
                                     movable ? std::move(movable->actions[a]) : t.actions[a], 1});
  }
  for (const auto& counter : t.counters) counters_[counter.workflow][counter.field] += counter.amount;
  return CommitOutcome::committed;
}

Store::PinnedWorkflow MemoryStore::pin_workflow(const std::string& id, const std::string& source) {
  auto& versions = workflows_[id];
  if (versions.empty() || versions.rbegin()->second != source) {
    versions[versions.empty() ? 1 : versions.rbegin()->first + 1] = source;
  }
  return PinnedWorkflow{versions.rbegin()->first, versions};
}

std::vector<int> MemoryStore::workflow_versions(const std::string& id) {
  std::vector<int> versions;
  if (auto it = workflows_.find(id); it != workflows_.end()) {
    for (const auto& [version, source] : it->second) versions.push_back(version);
  }
  return versions;
}

std::string MemoryStore::workflow_version(const std::string& id, int version) {
  auto it = workflows_.find(id);
  if (it == workflows_.end()) return {};
  auto v = it->second.find(version);
  return v == it->second.end() ? std::string() : v->second;
}

std::map<std::string, long> MemoryStore::workflow_counters(const std::string& workflow) {
  auto it = counters_.find(workflow);
  if (it == counters_.end()) return {};
  return {it->second.begin(), it->second.end()};
}

// --- timers ---------------------------------------------------------------------------------------------------

MemoryStore::ByDue& MemoryStore::timers_of(const std::string& lead) {
  return timers_[static_cast<std::size_t>(partition_of(lead, options_.partitions))];
}

MemoryStore::LeadTimer* MemoryStore::find_timer(StoredLead& stored, const TimerRef& timer) {
  for (auto& kept : stored.timers) {
    if (kept.seq == timer.seq && kept.workflow == timer.workflow) return &kept;
  }
  return nullptr;
}

// Like ZADD: a timer has one due time; adding it again moves it.
void MemoryStore::add_timer(Leads::iterator lead, const TimerRef& timer, std::int64_t due) {
  ByDue& timers = timers_of(lead->first);
  LeadTimer* kept = find_timer(lead->second, timer);
  if (!kept) kept = &lead->second.timers.emplace_back(LeadTimer{timer.workflow, timer.seq, timers.end()});
  else timers.erase(kept->place);
  kept->place = timers.emplace(due, timer.member()).first;
}

void MemoryStore::remove_timer(Leads::iterator lead, const TimerRef& timer) {
  LeadTimer* kept = find_timer(lead->second, timer);
  if (!kept) return;
  timers_of(lead->first).erase(kept->place);
  *kept = std::move(lead->second.timers.back());
  lead->second.timers.pop_back();
}

std::vector<TimerRef> MemoryStore::due_timers(TimePoint now, int limit, const std::vector<int>& partitions) {
  std::vector<std::pair<std::int64_t, std::string>> due;
  for (int p : partitions_or_all(partitions, options_.partitions)) {
    const auto& timers = timers_.at(static_cast<std::size_t>(p));
    int taken = 0;
    for (auto it = timers.begin(); it != timers.end() && it->first <= to_unix_ms(now) && taken < limit;
         ++it, ++taken) {
      due.push_back(*it);
    }
  }
  return timers_in_due_order(std::move(due));
}

std::optional<TimePoint> MemoryStore::timer_due(const TimerRef& timer) {
  if (auto stored = leads_.find(timer.lead); stored != leads_.end()) {
    if (const LeadTimer* kept = find_timer(stored->second, timer)) return from_unix_ms(kept->place->first);
  }
  if (auto held = held_.find(timer.workflow); held != held_.end()) {
    for (const auto& [member, due] : held->second.timers) {
      if (member == timer.member()) return from_unix_ms(due);
    }
  }
  return std::nullopt;
}

std::optional<TimePoint> MemoryStore::next_timer_due() {
  std::optional<std::int64_t> earliest;
  for (const auto& timers : timers_) {
    if (!timers.empty() && (!earliest || timers.begin()->first < *earliest)) {
      earliest = timers.begin()->first;
    }
  }
  if (!earliest) return std::nullopt;
  return from_unix_ms(*earliest);
}

std::vector<std::string> MemoryStore::heartbeat(std::chrono::milliseconds lease, TimePoint now) {
  engines_[options_.consumer] = to_unix_ms(now);
  std::vector<std::string> live;
  for (auto it = engines_.begin(); it != engines_.end();) {
    if (it->second <= to_unix_ms(now) - lease.count()) {
      it = engines_.erase(it);
    } else {
      live.push_back((it++)->first);
    }
  }
  return live;  // a std::map: sorted
}

// --- dispatch -------------------------------------------------------------------------------------------------

std::vector<OutboxEntry> MemoryStore::read_outbox(int count, std::chrono::milliseconds) {
  std::vector<OutboxEntry> read;
  for (auto& outbox : outboxes_) {
    int taken = 0;
    if (outbox_replay_) {  // this consumer's pending entries first, as after a restart
      for (const auto& [id, deliveries] : outbox.pending) {
        if (taken++ >= count) break;
        read.push_back(outbox.entries.at(id));
      }
      continue;
    }
    for (auto it = outbox.entries.upper_bound(outbox.last_delivered); it != outbox.entries.end() && taken < count;
         ++it, ++taken) {
      outbox.last_delivered = it->first;
      outbox.pending[it->first] = 1;
      read.push_back(it->second);
    }
  }
  if (outbox_replay_ && read.empty()) {
    outbox_replay_ = false;
    return read_outbox(count);
  }
  return read;
}

std::vector<PlannedAction> MemoryStore::outbox_actions() const {
  std::vector<PlannedAction> actions;
  for (const auto& outbox : outboxes_) {
    for (const auto& [id, entry] : outbox.entries) actions.push_back(entry.action);
  }
  return actions;
}

std::vector<DispatchCheck> MemoryStore::check_and_claim(const std::vector<OutboxEntry>& entries) {
  std::vector<DispatchCheck> checks(entries.size());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto& entry = entries[i];
    checks[i].suppressed = entry.action.kind == "email" && is_suppressed("email", entry.action.to);
    auto [record, first] = dispatch_records_.try_emplace(entry.action.action_id, "c");
    if (first || starts_with(record->second, "r") || record->second == "c") {
      record->second = "c";  // a first attempt, a retry coming back, or a claim that never reached a connector
      checks[i].claim = ClaimOutcome::claimed;
    } else if (starts_with(record->second, "p")) {  // handed to a connector, no result: it may have been sent
      checks[i].claim = ClaimOutcome::claimed_again;
      ++counters_[entry.action.workflow]["dispatch_reclaimed"];
    } else {
      checks[i].claim = ClaimOutcome::already_done;
    }
  }
  return checks;
}

void MemoryStore::mark_sending(const std::vector<const OutboxEntry*>& entries) {
  for (const OutboxEntry* entry : entries) dispatch_records_[entry->action.action_id] = "p";
}

void MemoryStore::record_many(const std::vector<DispatchRecord>& records) {
  for (const auto& record : records) record_one(record);
}

void MemoryStore::record_one(const DispatchRecord& record) {
  const OutboxEntry& entry = *record.entry;
  const auto p = static_cast<std::size_t>(entry.partition);
  dispatch_records_[entry.action.action_id] = fmt::format("{}:{}", outcome_letter(record.outcome), record.detail);
  ack_outbox(entry);
  for (const auto& counter : outcome_counters(record)) ++counters_[entry.action.workflow][counter];
  if (record.outcome == DispatchOutcome::failed) {
    dead_actions_.push_back({{{"aid", entry.action.action_id}, {"lead", entry.action.lead}}, record.detail});
  }
  if (auto raised = raised_event(record)) event_streams_.at(p + 1).entries.emplace(next_id(), std::move(*raised));
  if (record.outcome == DispatchOutcome::sent && record.remember_lead) {
    action_leads_[entry.action.action_id] = entry.action.lead;
  }
  if (record.outcome == DispatchOutcome::suppressed && !entry.action.to.empty()) suppress("email", entry.action.to);
  if (is_scheduled_post(entry.action)) posts_[post_state_field(entry.action)] = post_state(record);
}

void MemoryStore::ack_outbox(const OutboxEntry& entry) {
  if (auto id = parse_id(entry.stream_id)) outboxes_.at(static_cast<std::size_t>(entry.partition)).pending.erase(*id);
}

bool MemoryStore::is_suppressed(const std::string& channel, const std::string& address) {
  auto it = suppressed_.find(channel);
  if (it == suppressed_.end()) return false;
  const std::string key = text::address_key(address);
  return it->second.count(key) > 0 || it->second.count(text::hash_of_address_key(key)) > 0;
}

void MemoryStore::suppress(const std::string& channel, const std::string& address) {
  if (!address.empty()) suppressed_[channel].insert(text::address_key(address));
}

long MemoryStore::suppress_many(const std::string& channel, const std::vector<std::string>& addresses) {
  long added = 0;
  for (const auto& address : addresses) {
    if (!address.empty()) added += suppressed_[channel].insert(text::address_key(address)).second;
  }
  return added;
}

bool MemoryStore::unsuppress(const std::string& channel, const std::string& address) {
  auto it = suppressed_.find(channel);
  return it != suppressed_.end() && it->second.erase(text::address_key(address)) > 0;
}

void MemoryStore::scan_suppressed(const std::string& channel,
                                  const std::function<bool(const std::vector<std::string>&)>& visit) {
  auto it = suppressed_.find(channel);
  if (it == suppressed_.end() || it->second.empty()) return;
  visit(std::vector<std::string>(it->second.begin(), it->second.end()));
}

std::string MemoryStore::lead_of_action(const std::string& action_id) {
  auto it = action_leads_.find(action_id);
  return it == action_leads_.end() ? std::string() : it->second;
}

void MemoryStore::schedule_retry(const OutboxEntry& entry, TimePoint due, const std::string& reason) {
  reschedule(entry, due, entry.attempt + 1, "retried");
  if (is_scheduled_post(entry.action)) {
    posts_[post_state_field(entry.action)] = fmt::format("r:{}:{}", entry.attempt + 1, reason);
  }
}

void MemoryStore::defer(const OutboxEntry& entry, TimePoint due, const std::string&) {
  reschedule(entry, due, entry.attempt, "deferred");
}

void MemoryStore::reschedule(const OutboxEntry& entry, TimePoint due, int next_attempt, const std::string& stat) {
  OutboxEntry again = entry;
  again.attempt = next_attempt;
  retries_.at(static_cast<std::size_t>(entry.partition)).emplace(to_unix_ms(due), std::move(again));
  dispatch_records_[entry.action.action_id] = fmt::format("r:{}", entry.attempt);
  ack_outbox(entry);
  ++counters_[entry.action.workflow][fmt::format("step:{}:{}", entry.action.step, stat)];
}

void MemoryStore::release_due_retries(TimePoint now, const std::vector<int>& partitions) {
  for (int p : partitions_or_all(partitions, options_.partitions)) {
    auto& retries = retries_.at(static_cast<std::size_t>(p));
    const auto last = retries.upper_bound(to_unix_ms(now));
    for (auto it = retries.begin(); it != last; ++it) {
      OutboxEntry entry = std::move(it->second);
      const StreamId id = next_id();
      entry.stream_id = id_text(id);
      outboxes_.at(static_cast<std::size_t>(p)).entries.emplace(id, std::move(entry));
    }
    retries.erase(retries.begin(), last);
  }
}

std::map<std::string, TimePoint> MemoryStore::paused_workflows() { return paused_; }

void MemoryStore::pause_workflow(const std::string& workflow, TimePoint since) { paused_.try_emplace(workflow, since); }

Store::Released MemoryStore::resume_workflow(const std::string& workflow) {
  paused_.erase(workflow);
  Released released;
  auto& held = held_[workflow];
  for (const auto& [member, due] : held.timers) {
    const auto timer = TimerRef::parse(member);
    if (!timer) continue;
    // A held timer's lead is stored: erasing a lead drops its held timers too.
    auto stored = leads_.find(timer->lead);
    if (stored == leads_.end()) continue;
    add_timer(stored, *timer, due);
    ++released.timers;
  }
  for (auto& entry : held.actions) {
    retries_.at(static_cast<std::size_t>(entry.partition)).emplace(released.actions++, std::move(entry));
  }
  held_.erase(workflow);
  return released;
}

void MemoryStore::hold_timers(const std::vector<TimerRef>& timers) {
  for (const auto& timer : timers) {
    if (!paused_.count(timer.workflow)) continue;
    auto stored = leads_.find(timer.lead);
    const LeadTimer* kept = stored == leads_.end() ? nullptr : find_timer(stored->second, timer);
    if (!kept) continue;
    held_[timer.workflow].timers.emplace_back(timer.member(), kept->place->first);
    remove_timer(stored, timer);
  }
}

void MemoryStore::hold_actions(const std::vector<const OutboxEntry*>& entries) {
  for (const OutboxEntry* entry : entries) {
    if (paused_.count(entry->action.workflow)) {
      held_[entry->action.workflow].actions.push_back(*entry);
    } else {
      retries_.at(static_cast<std::size_t>(entry->partition)).emplace(0, *entry);
    }
    ack_outbox(*entry);
  }
}

Store::Erased MemoryStore::erase_lead(const std::string& lead, const std::vector<std::string>& address_hashes) {
  Erased erased;
  const auto p = static_cast<std::size_t>(partition_of(lead, options_.partitions));
  if (auto stored = leads_.find(lead); stored != leads_.end()) {
    for (const auto& kept : stored->second.timers) timers_[p].erase(kept.place);
    erased.timers = static_cast<long>(stored->second.timers.size());
    leads_.erase(stored);
    erased.lead = true;
  }
  for (auto& [workflow, held] : held_) {
    erased.timers += static_cast<long>(std::erase_if(held.timers, [&](const auto& t) {
      return t.first.rfind(lead + "\x1f", 0) == 0;
    }));
    erased.actions += static_cast<long>(std::erase_if(held.actions, [&](const auto& e) { return e.action.lead == lead; }));
  }
  erased.actions += static_cast<long>(std::erase_if(retries_[p], [&](const auto& r) { return r.second.action.lead == lead; }));
  erased.actions += static_cast<long>(std::erase_if(outboxes_[p].entries, [&](const auto& e) {
    return e.second.action.lead == lead;
  }));
  std::erase_if(outboxes_[p].pending, [&](const auto& e) { return !outboxes_[p].entries.count(e.first); });
  for (auto& stream : event_streams_) {
    erased.events += static_cast<long>(std::erase_if(stream.entries, [&](const auto& e) {
      const auto it = e.second.find("lead");
      return it != e.second.end() && it->second == lead;
    }));
    std::erase_if(stream.pending, [&](const auto& e) { return !stream.entries.count(e.first); });
  }
  erased.remembered = static_cast<long>(std::erase_if(action_leads_, [&](const auto& a) { return a.second == lead; }));
  for (const auto& hash : address_hashes) suppressed_["email"].insert(hash);
  return erased;
}

bool MemoryStore::queue_post(const PlannedAction& action, bool too_late) {
  if (!posts_.try_emplace(post_state_field(action), too_late ? "k:late" : "q").second) return false;
  if (too_late) return true;
  const auto p = static_cast<std::size_t>(partition_of(action.step, options_.partitions));
  const StreamId stream_id = next_id();
  outboxes_[p].entries.emplace(stream_id, OutboxEntry{static_cast<int>(p), id_text(stream_id), action, 1});
  return true;
}

std::map<std::string, std::string> MemoryStore::post_states() { return posts_; }

}  // namespace nurture::engine::memory
