#pragma once
// One lead's commit on Redis: its checks (the lead's stream position and version, the producer id) and its writes
// (lead fields, producer id, timers, outbox entries, counters), made in one of two ways.
// - On one Redis server, with native commands in two round trips: WATCH the blocks' leads and producer-id keys and
//   read what the checks need; then, for the blocks that pass, MULTI, the writes, EXEC. A watched key that changed
//   in between makes Redis refuse the EXEC, nothing is written, and the batch goes through the script instead.
//   Redis runs these commands natively: about two thirds of the script's cost per block (bench/commit).
// - On a cluster, by the commit script (a transaction there cannot watch keys in several slots), which checks and
//   writes each block server-side.
// Either way the end state is the same, block by block, as committing them one by one.

#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "engine/store/store.hpp"
#include "engine/store/redis/redis_connection.hpp"

namespace nurture::engine::redis {

struct CommitBlock {
  std::string lead_key, timers_key, outbox_key;
  std::string seen_key;   // the producer id's key; empty when the event has none
  std::string sid;        // the stream entry applied, as the lead's hash keeps it (compact_stream_id); or empty
  std::string sid_field;  // the lead field remembering sid's stream: ev, evK (front-door stream K), ei (inbox)
  long long seen_ttl_s = 0;
  std::string expected_version;
  std::optional<long long> decided_ms;  // when the transition was decided; none: its timers are near
  std::vector<std::string> set;         // lead fields: field, value, ...
  std::vector<std::string> removed;     // lead fields
  std::vector<std::pair<long long, std::string>> timers_added;  // due ms, member
  std::vector<std::string> timers_removed;
  std::vector<std::vector<std::string>> outbox;  // each entry's fields and values
  struct Count {
    std::string key, field;
    long long amount;
  };
  std::vector<Count> counts;
};

// The commit script's source, and one block appended to its call's keys and arguments (the format is described
// with the script).
extern const char* const commit_lua;
void append_script_block(CommitBlock& block, std::vector<std::string>& keys, std::vector<std::string>& args);

// Native commits. Blocks sharing a lead or a producer id cannot be checked together (a later one must see the
// earlier one's writes): those batches take the script.
bool checkable_together(const std::vector<CommitBlock>& blocks);
// A batch is committed in transactions of at most this many blocks: WATCH compares each key with every key its
// connection watches already, so its cost grows with the square of the keys watched (2.7 ms of Redis for 200 leads
// at once; in a drip, 64 cost Redis less per send than 32, with fewer round trips).
constexpr std::size_t blocks_per_transaction = 64;
// Round trip 1, for one transaction: WATCH, then per block HMGET of its sid field and version, then EXISTS of each
// producer id's key.
std::vector<Command> commit_checks(std::span<const CommitBlock> blocks);
// What the script would decide for each block from round trip 1's replies (none of them an error).
std::vector<CommitOutcome> commit_outcomes(std::span<const CommitBlock> blocks, std::span<const RedisReply> replies);
// Round trip 2: MULTI, the writes of the committed blocks (moved out of them), EXEC; empty when none commits.
// Timers are filed as the script files them (timer_buckets.hpp), the last change of a member winning; counters
// are summed, one HINCRBY per counter.
std::vector<Command> commit_writes(std::span<CommitBlock> blocks, const std::vector<CommitOutcome>& outcomes);

// Whether the stream entry `sid` was applied already, given the position the lead keeps (`~ms-seq` in base 36 or
// `ms-seq` in decimal, either side); false when either does not parse.
bool stream_position_passed(const std::string& kept, const std::string& sid);
// Where the filing rule puts a timer set at `now` (timer_buckets.hpp): the bucket's T, or none for the sorted set.
std::optional<long long> timer_bucket(const std::string& member, long long due, std::optional<long long> now);

}  // namespace nurture::engine::redis
