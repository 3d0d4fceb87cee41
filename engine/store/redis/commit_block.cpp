#include "engine/store/redis/commit_block.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <string_view>
#include <unordered_set>

namespace nurture::engine::redis {

// Commits several leads of one partition in one call (they share its slot). ARGV: the number of blocks, then per
// block: its number of keys, sid (the event's stream entry id, compacted as the lead's hash keeps it), seen (0|1),
// ttl, expected version, the lead field that remembers sid's stream (ev or evK: front-door stream 0 or K; ei:
// inbox), when it was decided (ms, or empty: its timers are near), then counted groups: #set, field/value...; #del,
// field...; #tadd, score/member...; #trem, member...; #outbox entries, and per entry #fields, field/value...;
// #stats, (key index in the block, field, increment)... KEYS per block: lead, timers, outbox, seen (or the lead
// again), stats keys. Each block is atomic and checked on its own; the reply lists each block's outcome.
const char* const commit_lua = R"lua(
local results, counts = {}, {}
-- Timer changes of the committed blocks, by timers key: member -> {due, decided at}, or false for a removal.
-- Filed and removed at the end, a command per key and kind; the last change of a member wins, as one by one.
local timer_changes = {}
local i, k = 2, 0
local function change_timer(key, member, score)
  local changes = timer_changes[key]
  if not changes then changes = {order = {}, by_member = {}}; timer_changes[key] = changes end
  if changes.by_member[member] == nil then changes.order[#changes.order + 1] = member end
  changes.by_member[member] = score
end
-- Lua 5.1 reads a decimal string through strtod, twice (tonumber checks it, then converts it): the counts and times
-- that repeat from block to block are read once a call.
local numbers = {}
local function number(text)
  local n = numbers[text]
  if n == nil then n = tonumber(text); numbers[text] = n end
  return n
end
-- A stream entry id as the lead's hash keeps it and the engine sends it, `~` and ms-seq in base 36 (read with
-- strtoul), or as an older hash may hold it, `ms-seq` in decimal.
local function stream_position(id)
  local ms, seq = string.match(id, '^~(%w+)-(%w+)$')
  if ms then return tonumber(ms, 36), tonumber(seq, 36) end
  ms, seq = string.match(id, '^(%d+)-(%d+)$')
  if ms then return tonumber(ms), tonumber(seq) end
end
local function group()
  local n = number(ARGV[i])
  local first = i + 1
  i = i + 1 + n
  return n, first, first + n - 1
end
for b = 1, tonumber(ARGV[1]) do
  local nkeys = number(ARGV[i])
  local sid, seen, ttl, ver, sid_field = ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5]
  local decided = number(ARGV[i + 6])
  i = i + 7
  local lead, timers, outbox, seenkey = KEYS[k + 1], KEYS[k + 2], KEYS[k + 3], KEYS[k + 4]
  -- Where this block's groups are, so a refused block can be skipped.
  local set_n, set_a, set_b = group()
  local del_n, del_a, del_b = group()
  local tadd_n, tadd_a, tadd_b = group()
  local trem_n, trem_a, trem_b = group()
  local entries = {}
  local n_entries = number(ARGV[i])
  i = i + 1
  for e = 1, n_entries do
    local n, a, z = group()
    entries[e] = {a, z}
  end
  local n_stats = number(ARGV[i])
  local stats_at = i + 1
  i = i + 1 + 3 * n_stats

  local outcome = 'committed'
  local state = redis.call('HMGET', lead, sid_field, 'ver')
  if sid ~= '' and state[1] then
    local lms, lseq = stream_position(state[1])
    local ms, seq = stream_position(sid)
    if lms and ms and (ms < lms or (ms == lms and seq <= lseq)) then outcome = 'duplicate' end
  end
  if outcome == 'committed' and seen == '1' and redis.call('EXISTS', seenkey) == 1 then outcome = 'duplicate' end
  if outcome == 'committed' and (state[2] or '0') ~= ver then outcome = 'conflict' end
  if outcome == 'committed' then
    if set_n > 0 then in_chunks('HSET', lead, ARGV, set_a, set_b) end
    if del_n > 0 then in_chunks('HDEL', lead, ARGV, del_a, del_b) end
    if seen == '1' then redis.call('SET', seenkey, '1', 'EX', ttl) end
    if sid ~= '' and sid_field ~= 'ev' and sid_field ~= 'ei' then redis.call('HSET', lead, sid_field, sid) end
    for j = tadd_a, tadd_b, 2 do change_timer(timers, ARGV[j + 1], {tonumber(ARGV[j]), decided, ARGV[j]}) end
    for j = trem_a, trem_b do change_timer(timers, ARGV[j], false) end
    for _, e in ipairs(entries) do redis.call('XADD', outbox, '*', unpack(ARGV, e[1], e[2])) end
    for s = 0, n_stats - 1 do
      local at = stats_at + 3 * s
      local key = KEYS[k + number(ARGV[at])]
      local fields = counts[key]
      if not fields then fields = {}; counts[key] = fields end
      fields[ARGV[at + 1]] = (fields[ARGV[at + 1]] or 0) + number(ARGV[at + 2])
    end
  end
  results[b] = outcome
  k = k + nkeys
end
for key, changes in pairs(timer_changes) do
  local added, removed = {}, {}
  for _, member in ipairs(changes.order) do
    local change = changes.by_member[member]
    if change then
      added[#added + 1] = {change[1], member, change[2], change[3]}
    else
      removed[#removed + 1] = member
    end
  end
  file_timers(key, added)
  in_chunks('ZREM', key, removed, 1, #removed)
end
-- Counters of the committed blocks, summed: one HINCRBY per counter and call, not per lead.
for key, fields in pairs(counts) do
  for field, n in pairs(fields) do redis.call('HINCRBY', key, field, n) end
end
return results
)lua";

void append_script_block(CommitBlock& block, std::vector<std::string>& keys, std::vector<std::string>& args) {
  const std::size_t first_key = keys.size();
  const bool seen = !block.seen_key.empty();
  keys.push_back(block.lead_key);
  keys.push_back(std::move(block.timers_key));
  keys.push_back(std::move(block.outbox_key));
  keys.push_back(seen ? std::move(block.seen_key) : std::move(block.lead_key));

  const std::size_t key_count_at = args.size();
  args.emplace_back();  // the block's number of keys, known at the end
  args.push_back(std::move(block.sid));
  args.emplace_back(seen ? "1" : "0");
  args.push_back(std::to_string(block.seen_ttl_s));
  args.push_back(std::move(block.expected_version));
  args.push_back(std::move(block.sid_field));
  args.push_back(block.decided_ms ? std::to_string(*block.decided_ms) : std::string());
  // A counted group: its size first, then its items.
  auto group = [&args](std::vector<std::string>& items) {
    args.push_back(std::to_string(items.size()));
    args.insert(args.end(), std::make_move_iterator(items.begin()), std::make_move_iterator(items.end()));
  };
  group(block.set);
  group(block.removed);
  args.push_back(std::to_string(block.timers_added.size() * 2));
  for (auto& [due, member] : block.timers_added) {
    args.push_back(std::to_string(due));
    args.push_back(std::move(member));
  }
  group(block.timers_removed);
  args.push_back(std::to_string(block.outbox.size()));
  for (auto& entry : block.outbox) group(entry);

  // Counter keys go into KEYS so the script stays in one slot; the arguments name them by index in the block.
  args.push_back(std::to_string(block.counts.size()));
  for (auto& count : block.counts) {
    std::size_t index = first_key + 4;
    while (index < keys.size() && keys[index] != count.key) ++index;
    if (index == keys.size()) keys.push_back(std::move(count.key));
    args.push_back(std::to_string(index - first_key + 1));
    args.push_back(std::move(count.field));
    args.push_back(std::to_string(count.amount));
  }
  args[key_count_at] = std::to_string(keys.size() - first_key);
}

bool checkable_together(const std::vector<CommitBlock>& blocks) {
  std::unordered_set<std::string_view> keys;
  keys.reserve(blocks.size() * 2);
  for (const auto& block : blocks) {
    if (!keys.insert(block.lead_key).second) return false;
    if (!block.seen_key.empty() && !keys.insert(block.seen_key).second) return false;
  }
  return true;
}

std::vector<Command> commit_checks(std::span<const CommitBlock> blocks) {
  std::vector<Command> commands;
  commands.reserve(blocks.size() * 2 + 1);
  Command watch{"WATCH"};
  for (const auto& block : blocks) {
    watch.push_back(block.lead_key);
    if (!block.seen_key.empty()) watch.push_back(block.seen_key);
  }
  commands.push_back(std::move(watch));
  for (const auto& block : blocks) commands.push_back({"HMGET", block.lead_key, block.sid_field, "ver"});
  for (const auto& block : blocks) {
    if (!block.seen_key.empty()) commands.push_back({"EXISTS", block.seen_key});
  }
  return commands;
}

std::vector<CommitOutcome> commit_outcomes(std::span<const CommitBlock> blocks, std::span<const RedisReply> replies) {
  std::vector<CommitOutcome> outcomes(blocks.size(), CommitOutcome::committed);
  std::size_t exists_at = 1 + blocks.size();
  for (std::size_t b = 0; b < blocks.size(); ++b) {
    const CommitBlock& block = blocks[b];
    const RedisReply& state = replies[1 + b];
    const bool seen = !block.seen_key.empty() && replies[exists_at++].integer == 1;
    const RedisReply* kept = state.elements.size() == 2 ? &state.elements[0] : nullptr;
    const RedisReply* version = state.elements.size() == 2 ? &state.elements[1] : nullptr;
    if (!block.sid.empty() && kept && !kept->is_nil() && stream_position_passed(kept->text, block.sid)) {
      outcomes[b] = CommitOutcome::duplicate;
    } else if (seen) {
      outcomes[b] = CommitOutcome::duplicate;
    } else if ((version && !version->is_nil() ? version->text : std::string("0")) != block.expected_version) {
      outcomes[b] = CommitOutcome::conflict;
    }
  }
  return outcomes;
}

namespace {

// A timer change: a due and when it was set, or a removal (none).
using TimerSetting = std::optional<std::pair<long long, std::optional<long long>>>;
struct TimerChange {
  std::string member;
  TimerSetting setting;
};

// A block's timer changes, each member once, in the order members first changed, with its last change: as the
// script has them. A member belongs to one lead, and the blocks of a native batch to different leads, so a member
// repeats within a block only (added and removed by one transition), never across blocks.
void block_timer_changes(CommitBlock& block, std::vector<TimerChange>& out) {
  const std::size_t first = out.size();
  auto change = [&](std::string& member, TimerSetting setting) {
    for (std::size_t i = first; i < out.size(); ++i) {
      if (out[i].member == member) {
        out[i].setting = setting;
        return;
      }
    }
    out.push_back({std::move(member), setting});
  };
  for (auto& [due, member] : block.timers_added) change(member, std::make_pair(due, block.decided_ms));
  for (auto& member : block.timers_removed) change(member, std::nullopt);
}

// Files the timer changes of one timers key as the script's file_timers does: near ones in the sorted set, later
// ones in their buckets (each bucket indexed), removals from the sorted set.
void file_timer_changes(const std::string& timers, std::vector<TimerChange>& changes, std::vector<Command>& out) {
  Command near{"ZADD", timers}, removed{"ZREM", timers};
  std::vector<std::pair<long long, Command>> buckets;  // T, RPUSH of its entries; in the order first filled
  for (auto& change : changes) {
    if (!change.setting) {
      removed.push_back(std::move(change.member));
      continue;
    }
    const auto [due, set_at] = *change.setting;
    const auto t = timer_bucket(change.member, due, set_at);
    if (!t) {
      near.push_back(std::to_string(due));
      near.push_back(std::move(change.member));
      continue;
    }
    auto bucket = std::find_if(buckets.begin(), buckets.end(), [&](const auto& b) { return b.first == *t; });
    if (bucket == buckets.end()) {
      buckets.emplace_back(*t, Command{"RPUSH", timers + ":b:" + std::to_string(*t)});
      bucket = buckets.end() - 1;
    }
    bucket->second.push_back(std::to_string(due - *t) + ' ' + change.member);
  }
  if (near.size() > 2) out.push_back(std::move(near));
  for (auto& [t, rpush] : buckets) {
    out.push_back(std::move(rpush));
    out.push_back({"ZADD", timers + ":b", std::to_string(t), std::to_string(t)});
  }
  if (removed.size() > 2) out.push_back(std::move(removed));
}

// NAME KEY [ID] ITEMS..., the items moved in.
Command command_of(const char* name, const std::string& key, std::vector<std::string>& items,
                   const char* id = nullptr) {
  Command command;
  command.reserve(3 + items.size());
  command.emplace_back(name);
  command.push_back(key);
  if (id) command.emplace_back(id);
  command.insert(command.end(), std::make_move_iterator(items.begin()), std::make_move_iterator(items.end()));
  return command;
}

// The counters of a batch, summed; they point into the blocks, which outlive them.
struct CounterSum {
  std::string_view key, field;
  long long amount;
};

void add_counts(const CommitBlock& block, std::vector<CounterSum>& sums) {
  for (const auto& count : block.counts) {
    auto sum = std::find_if(sums.begin(), sums.end(),
                            [&](const CounterSum& s) { return s.field == count.field && s.key == count.key; });
    if (sum == sums.end()) {
      sums.push_back({count.key, count.field, count.amount});
    } else {
      sum->amount += count.amount;
    }
  }
}

void write_block(CommitBlock& block, std::vector<Command>& out) {
  // Where an entry of a front-door stream other than the first was applied is the store's alone (not a field of
  // the snapshot): written here, with the lead's fields.
  if (!block.sid.empty() && block.sid_field != "ev" && block.sid_field != "ei") {
    block.set.push_back(block.sid_field);
    block.set.push_back(block.sid);
  }
  if (!block.set.empty()) out.push_back(command_of("HSET", block.lead_key, block.set));
  if (!block.removed.empty()) out.push_back(command_of("HDEL", block.lead_key, block.removed));
  if (!block.seen_key.empty()) {
    out.push_back({"SET", std::move(block.seen_key), "1", "EX", std::to_string(block.seen_ttl_s)});
  }
  for (auto& entry : block.outbox) out.push_back(command_of("XADD", block.outbox_key, entry, "*"));
}

}  // namespace

std::vector<Command> commit_writes(std::span<CommitBlock> blocks, const std::vector<CommitOutcome>& outcomes) {
  std::vector<Command> out{{"MULTI"}};
  out.reserve(blocks.size() * 3 + 8);
  std::vector<std::pair<std::string_view, std::vector<TimerChange>>> timers;  // by timers key: a batch spans few
  std::vector<CounterSum> counts;
  for (std::size_t b = 0; b < blocks.size(); ++b) {
    if (outcomes[b] != CommitOutcome::committed) continue;
    CommitBlock& block = blocks[b];
    write_block(block, out);
    if (!block.timers_added.empty() || !block.timers_removed.empty()) {
      auto key = std::find_if(timers.begin(), timers.end(), [&](const auto& t) { return t.first == block.timers_key; });
      if (key == timers.end()) {
        timers.emplace_back(block.timers_key, std::vector<TimerChange>());
        key = timers.end() - 1;
      }
      block_timer_changes(block, key->second);
    }
    add_counts(block, counts);
  }
  for (auto& [key, changes] : timers) file_timer_changes(std::string(key), changes, out);
  for (const auto& sum : counts) {
    out.push_back({"HINCRBY", std::string(sum.key), std::string(sum.field), std::to_string(sum.amount)});
  }
  if (out.size() == 1) return {};
  out.push_back({"EXEC"});
  return out;
}

namespace {

bool parse_position(std::string_view id, std::uint64_t& ms, std::uint64_t& seq) {
  int base = 10;
  if (id.starts_with('~')) {
    id.remove_prefix(1);
    base = 36;
  }
  const char* const end = id.data() + id.size();
  const auto [ms_end, ms_error] = std::from_chars(id.data(), end, ms, base);
  if (ms_error != std::errc() || ms_end == id.data() || ms_end == end || *ms_end != '-') return false;
  const auto [seq_end, seq_error] = std::from_chars(ms_end + 1, end, seq, base);
  return seq_error == std::errc() && seq_end != ms_end + 1 && seq_end == end;
}

}  // namespace

bool stream_position_passed(const std::string& kept, const std::string& sid) {
  std::uint64_t kept_ms = 0, kept_seq = 0, ms = 0, seq = 0;
  if (!parse_position(kept, kept_ms, kept_seq) || !parse_position(sid, ms, seq)) return false;
  return ms < kept_ms || (ms == kept_ms && seq <= kept_seq);
}

std::optional<long long> timer_bucket(const std::string& member, long long due, std::optional<long long> now) {
  // A lead's segment-membership timer (`lead␟~segments␟0`) keeps one member, which only the sorted set can move.
  if (!now || member.find("\x1f~") != std::string::npos) return std::nullopt;
  const long long ahead = due - *now;
  if (ahead < 120000) return std::nullopt;
  const long long width = ahead < 7200000 ? 60000 : ahead < 172800000 ? 3600000 : 86400000;
  const long long start = due >= 0 ? due / width * width : (due - width + 1) / width * width;  // floor
  return start - width;
}

}  // namespace nurture::engine::redis
