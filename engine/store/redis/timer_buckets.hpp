#pragma once
// Where a partition's timers wait. A timer due within two minutes of the transition that set it goes into the
// partition's sorted set (`timers`: member `lead␟workflow␟seq`, score = due ms), which the scheduler reads. A later
// one goes into a bucket: a list `timers:b:T` of `offset member` entries (due = T + offset), indexed by T in the
// sorted set `timers:b`. T is when the bucket is looked at again: a minute before the start of the timer's minute
// (waits under two hours), an hour before its hour (under two days), a day before its day. Then each entry is filed
// again by the same rule, so it reaches the sorted set at least a minute before it falls due.
//
// Why: a sorted set member costs ~110 B of Redis (skiplist node, dict entry, the member twice over), a list entry
// about its length; a lead waiting days costs ~30 B for its timer instead. Removing a timer does not look for it in
// the buckets: an entry whose enrollment has moved on (another seq) or whose lead is gone is dropped when its bucket
// is filed again, so it never fires.

namespace nurture::engine::redis {

// Lua defining timer_bucket(member, due, now) and file_timers(timers, items), items = {{due, member, now[, due as
// text]}, ...} (now may be nil: then the timer goes into the sorted set). Prepended to every script that adds
// timers.
extern const char* const timer_filing_lua;

// KEYS: timers. ARGV: now ms, the partition's lead key prefix, at most this many entries. Files the entries of the
// buckets whose T has come; returns {entries looked at, whether due buckets remain}.
extern const char* const promote_buckets_lua;

// KEYS: timers. ARGV: member. The due ms of a bucketed timer, or false.
extern const char* const find_bucketed_lua;

// KEYS: timers. ARGV: `lead␟`. Removes the lead's bucketed timers; returns how many.
extern const char* const erase_bucketed_lua;

}  // namespace nurture::engine::redis
