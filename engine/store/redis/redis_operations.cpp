// What operators do to the store, rarely and outside the hot path: pause and resume a workflow, erase a lead; and
// the scheduled posts' queue and states.
//
// A pause is kept in every partition (`{p}:paused`), so the scripts that set a due timer or an action aside check
// it in the same slot, atomically with the move: a resume that lands between the engine's look at the pause and
// its hold cannot strand anything. What a paused workflow holds stays in its partition (`{p}:held:W:timers` with
// the timers' due times, `{p}:held:W:actions` as the retries keep actions), and a resume moves it back.

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/core/identity.hpp"
#include "engine/store/redis/redis_store.hpp"
#include "engine/store/redis/timer_buckets.hpp"
#include "text/address.hpp"

namespace nurture::engine::redis {

namespace {

// KEYS: paused, timers, then one held-timers key per timer. ARGV: per timer its workflow and member.
const char* hold_timers_lua = R"lua(
local held = 0
for i = 0, (#ARGV / 2) - 1 do
  local workflow, member = ARGV[2 * i + 1], ARGV[2 * i + 2]
  if redis.call('HEXISTS', KEYS[1], workflow) == 1 then
    local due = redis.call('ZSCORE', KEYS[2], member)
    if due then
      redis.call('ZADD', KEYS[3 + i], due, member)
      redis.call('ZREM', KEYS[2], member)
      held = held + 1
    end
  end
end
return held
)lua";

// KEYS: paused, outbox, retries, then one held-actions key per action. ARGV: group, then per action its workflow,
// stream id, retry member and order (the ms of its stream id). An action not held is due again at once (score 0).
const char* hold_actions_lua = R"lua(
local held = 0
for i = 0, ((#ARGV - 1) / 4) - 1 do
  local workflow, id, member, order = ARGV[4 * i + 2], ARGV[4 * i + 3], ARGV[4 * i + 4], ARGV[4 * i + 5]
  if redis.call('HEXISTS', KEYS[1], workflow) == 1 then
    redis.call('ZADD', KEYS[4 + i], order, member)
    held = held + 1
  else
    redis.call('ZADD', KEYS[3], 0, member)
  end
  redis.call('XACK', KEYS[2], ARGV[1], id)
end
return held
)lua";

// KEYS: held timers, held actions, timers, retries. ARGV: how many actions went back before. Moves up to 500 of
// each back, timers at their due times, actions due at once in their order (scores counting up from ARGV[1], all
// in the past of any clock); returns how many of each it moved (called until both are 0).
const char* release_held_lua = R"lua(
local moved = {}
for k = 1, 2 do
  local some = redis.call('ZRANGE', KEYS[k], 0, 499, 'WITHSCORES')
  for i = 1, #some, 2 do
    local score = some[i + 1]
    if k == 2 then score = tonumber(ARGV[1]) + (i - 1) / 2 end
    redis.call('ZADD', KEYS[k + 2], score, some[i])
  end
  if #some > 0 then redis.call('ZREMRANGEBYRANK', KEYS[k], 0, #some / 2 - 1) end
  moved[k] = #some / 2
end
return moved
)lua";

// KEYS: posts, outbox. ARGV: field, state, then (state `q`) the outbox entry's fields. Queues once: the state is
// set only when there is none, and the entry added only then.
const char* queue_post_lua = R"lua(
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
if ARGV[2] == 'q' then redis.call('XADD', KEYS[2], '*', unpack(ARGV, 3)) end
return 1
)lua";

// A glob matching `text` literally (SCAN, ZSCAN MATCH).
std::string glob_literal(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::int64_t stream_id_ms(const std::string& id) {
  try {
    return std::stoll(id.substr(0, id.find('-')));
  } catch (const std::exception&) {
    return 0;
  }
}

}  // namespace

std::map<std::string, TimePoint> RedisStore::paused_workflows() {
  std::vector<Command> reads;
  for (int p = 0; p < options_.partitions; ++p) reads.push_back({"HGETALL", keys_.paused(p)});
  std::map<std::string, TimePoint> paused;
  for (const auto& reply : checked(reads)) {
    if (reply.is_error()) throw StoreUnavailable("HGETALL: " + reply.text);
    for (std::size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
      std::int64_t since = 0;
      try {
        since = std::stoll(reply.elements[i + 1].text);
      } catch (const std::exception&) {
      }
      auto [it, added] = paused.try_emplace(reply.elements[i].text, from_unix_ms(since));
      if (!added && from_unix_ms(since) < it->second) it->second = from_unix_ms(since);
    }
  }
  return paused;
}

void RedisStore::pause_workflow(const std::string& workflow, TimePoint since) {
  std::vector<Command> writes;
  for (int p = 0; p < options_.partitions; ++p) {
    writes.push_back({"HSETNX", keys_.paused(p), workflow, std::to_string(to_unix_ms(since))});
  }
  for (const auto& reply : checked(writes)) {
    if (reply.is_error()) throw StoreUnavailable("HSETNX: " + reply.text);
  }
}

Store::Released RedisStore::resume_workflow(const std::string& workflow) {
  std::vector<Command> ends;
  for (int p = 0; p < options_.partitions; ++p) ends.push_back({"HDEL", keys_.paused(p), workflow});
  checked(ends);
  // From here on nothing more is held; what was, goes back a slice at a time (no long script blocks Redis).
  Released released;
  if (release_held_script_.source.empty()) release_held_script_.source = release_held_lua;
  for (int p = 0; p < options_.partitions; ++p) {
    for (;;) {
      const RedisReply moved = connection_->eval(
          release_held_script_,
          {keys_.held_timers(p, workflow), keys_.held_actions(p, workflow), keys_.timers(p), keys_.retries(p)},
          {std::to_string(released.actions)});
      if (moved.is_error() || moved.elements.size() != 2) throw StoreUnavailable("resume: " + moved.describe());
      released.timers += moved.elements[0].integer;
      released.actions += moved.elements[1].integer;
      if (moved.elements[0].integer == 0 && moved.elements[1].integer == 0) break;
    }
  }
  return released;
}

void RedisStore::hold_timers(const std::vector<TimerRef>& timers) {
  if (hold_timers_script_.source.empty()) hold_timers_script_.source = hold_timers_lua;
  std::map<int, std::pair<std::vector<std::string>, std::vector<std::string>>> by_partition;  // keys, args
  for (const auto& timer : timers) {
    const int p = partition_of(timer.lead, options_.partitions);
    auto& [keys, args] = by_partition[p];
    if (keys.empty()) keys = {keys_.paused(p), keys_.timers(p)};
    keys.push_back(keys_.held_timers(p, timer.workflow));
    args.insert(args.end(), {timer.workflow, timer.member()});
  }
  for (auto& [p, call] : by_partition) {
    const RedisReply reply = connection_->eval(hold_timers_script_, call.first, call.second);
    if (reply.is_error()) throw StoreUnavailable("hold timers: " + reply.text);
  }
}

void RedisStore::hold_actions(const std::vector<const OutboxEntry*>& entries) {
  if (hold_actions_script_.source.empty()) hold_actions_script_.source = hold_actions_lua;
  std::map<int, std::pair<std::vector<std::string>, std::vector<std::string>>> by_partition;  // keys, args
  for (const OutboxEntry* entry : entries) {
    const int p = entry->partition;
    auto& [keys, args] = by_partition[p];
    if (keys.empty()) {
      keys = {keys_.paused(p), keys_.outbox(p), keys_.retries(p)};
      args = {dispatch_group};
    }
    keys.push_back(keys_.held_actions(p, entry->action.workflow));
    const nlohmann::json member = outbox_fields(entry->action, entry->attempt);
    args.insert(args.end(), {entry->action.workflow, entry->stream_id,
                             member.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                             std::to_string(stream_id_ms(entry->stream_id))});
  }
  for (auto& [p, call] : by_partition) {
    const RedisReply reply = connection_->eval(hold_actions_script_, call.first, call.second);
    if (reply.is_error()) throw StoreUnavailable("hold actions: " + reply.text);
  }
}

namespace {

// A stream's entries that `belongs` says are the lead's, deleted a page at a time; returns how many.
template <typename Checked>
long delete_stream_entries(Checked&& checked, const std::string& stream,
                           const std::function<bool(const std::map<std::string, std::string>&)>& belongs) {
  long deleted = 0;
  std::string from = "-";
  for (;;) {
    const RedisReply page = checked(Command{"XRANGE", stream, from, "+", "COUNT", "1000"});
    if (page.is_error()) throw StoreUnavailable("XRANGE: " + page.text);
    if (page.elements.empty()) break;
    Command remove{"XDEL", stream};
    for (const auto& entry : page.elements) {
      if (entry.elements.size() != 2) continue;
      std::map<std::string, std::string> fields;
      const auto& flat = entry.elements[1].elements;
      for (std::size_t i = 0; i + 1 < flat.size(); i += 2) fields[flat[i].text] = flat[i + 1].text;
      if (belongs(fields)) remove.push_back(entry.elements[0].text);
    }
    if (remove.size() > 2) deleted += checked(remove).integer;
    if (page.elements.size() < 1000) break;
    from = "(" + page.elements.back().elements[0].text;
  }
  return deleted;
}

}  // namespace

Store::Erased RedisStore::erase_lead(const std::string& lead, const std::vector<std::string>& address_hashes) {
  Erased erased;
  const int p = partition_of(lead, options_.partitions);
  auto run = [this](const Command& command) { return checked(command); };
  erased.lead = checked(Command{"DEL", keys_.lead(p, lead)}).integer == 1;

  // Timers (members start with the lead and a unit separator), the timers held for paused workflows, and actions
  // waiting to be retried or held: every sorted set of the partition that may name the lead.
  std::vector<std::string> sorted_sets{keys_.timers(p), keys_.retries(p)};
  scan_or_throw(glob_literal(keys_.prefix() + fmt::format("{{{}}}:held:", p)) + "*", 1000,
                [&](std::vector<std::string>& keys) {
                  sorted_sets.insert(sorted_sets.end(), keys.begin(), keys.end());
                  return true;
                });
  for (const std::string& key : sorted_sets) {
    const bool timers = key == keys_.timers(p) || key.ends_with(":timers");
    std::string at = "0";
    do {
      const RedisReply page = checked(Command{"ZSCAN", key, at, "COUNT", "1000"});
      if (page.is_error() || page.elements.size() != 2) throw StoreUnavailable("ZSCAN: " + page.describe());
      at = page.elements[0].text;
      Command remove{"ZREM", key};
      const auto& flat = page.elements[1].elements;
      for (std::size_t i = 0; i + 1 < flat.size(); i += 2) {
        const std::string& member = flat[i].text;
        bool mine = false;
        if (timers) {
          mine = member.rfind(lead + "\x1f", 0) == 0;
        } else {
          const auto fields = nlohmann::json::parse(member, nullptr, false);
          for (std::size_t k = 0; fields.is_array() && k + 1 < fields.size(); k += 2) {
            if (fields[k] == "lead" && fields[k + 1] == lead) mine = true;
          }
        }
        if (mine) remove.push_back(member);
      }
      if (remove.size() > 2) (timers ? erased.timers : erased.actions) += checked(remove).integer;
    } while (at != "0");
  }
  if (erase_bucketed_script_.source.empty()) erase_bucketed_script_.source = erase_bucketed_lua;
  const RedisReply bucketed = connection_->eval(erase_bucketed_script_, {keys_.timers(p)}, {lead + "\x1f"});
  if (bucketed.is_error()) throw StoreUnavailable("erase timers: " + bucketed.text);
  erased.timers += bucketed.integer;

  // Streams: actions queued or dead-lettered for the lead, its events not yet read or dead-lettered, the events
  // raised for it. An action deleted from the outbox while handed out is simply never sent.
  const auto is_lead = [&](const std::map<std::string, std::string>& fields) {
    const auto it = fields.find("lead");
    return it != fields.end() && it->second == lead;
  };
  erased.actions += delete_stream_entries(run, keys_.outbox(p), is_lead);
  erased.actions += delete_stream_entries(run, keys_.outbox_dead(p), is_lead);
  std::vector<std::string> event_streams{keys_.inbox(p), keys_.events_dead()};
  for (int k = 0; k < options_.event_streams; ++k) event_streams.push_back(keys_.events(k));
  for (const std::string& stream : event_streams) erased.events += delete_stream_entries(run, stream, is_lead);

  // Which sent email went to the lead (kept for bounce reports that name only the message).
  // Key by key: on a cluster they are in many slots, which one MGET or DEL cannot span.
  scan_or_throw(glob_literal(keys_.action_lead("")) + "*", 1000, [&](std::vector<std::string>& keys) {
    std::vector<Command> reads;
    for (const auto& key : keys) reads.push_back({"GET", key});
    const auto values = checked(reads);
    std::vector<Command> removals;
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (values[i].text == lead) removals.push_back({"DEL", keys[i]});
    }
    for (const auto& removed : checked(removals)) erased.remembered += removed.integer;
    return true;
  });

  if (!address_hashes.empty()) {
    Command add{"SADD", keys_.suppress("email")};
    add.insert(add.end(), address_hashes.begin(), address_hashes.end());
    checked(add);
  }
  return erased;
}

bool RedisStore::queue_post(const PlannedAction& action, bool too_late) {
  if (queue_post_script_.source.empty()) queue_post_script_.source = queue_post_lua;
  const int p = partition_of(action.step, options_.partitions);
  std::vector<std::string> args{post_state_field(action), too_late ? "k:late" : "q"};
  if (!too_late) {
    const auto fields = outbox_fields(action, 1);
    args.insert(args.end(), fields.begin(), fields.end());
  }
  const RedisReply reply = connection_->eval(queue_post_script_, {keys_.posts(p), keys_.outbox(p)}, args);
  if (reply.is_error()) throw StoreUnavailable("queue post: " + reply.text);
  return reply.integer == 1;
}

std::map<std::string, std::string> RedisStore::post_states() {
  std::vector<Command> reads;
  for (int p = 0; p < options_.partitions; ++p) reads.push_back({"HGETALL", keys_.posts(p)});
  std::map<std::string, std::string> states;
  for (const auto& reply : checked(reads)) {
    if (reply.is_error()) throw StoreUnavailable("HGETALL: " + reply.text);
    for (std::size_t i = 0; i + 1 < reply.elements.size(); i += 2) states[reply.elements[i].text] = reply.elements[i + 1].text;
  }
  return states;
}

}  // namespace nurture::engine::redis
