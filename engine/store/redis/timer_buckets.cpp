#include "engine/store/redis/timer_buckets.hpp"

namespace nurture::engine::redis {

// The filing rule. Timers of a lead's segment membership (`lead␟~segments␟0`) keep one member whatever their due,
// which only the sorted set can move, so they never go into a bucket.
const char* const timer_filing_lua = R"lua(
-- unpack() of more than a few thousand values fails ("too many results to unpack"): items[a..b] go in chunks.
local function in_chunks(command, key, items, a, b)
  for from = a, b, 1000 do redis.call(command, key, unpack(items, from, math.min(b, from + 999))) end
end
local function timer_bucket(member, due, now)
  if not now or string.find(member, '\31~', 1, true) then return nil end
  local d = due - now
  if d < 120000 then return nil end
  local width = 86400000
  if d < 7200000 then width = 60000 elseif d < 172800000 then width = 3600000 end
  return math.floor(due / width) * width - width
end
local function file_timers(timers, items)
  local near, far, order = {}, {}, {}
  for _, item in ipairs(items) do
    local due, member = item[1], item[2]
    local t = timer_bucket(member, due, item[3])
    if t then
      local entries = far[t]
      if not entries then entries = {}; far[t] = entries; order[#order + 1] = t end
      entries[#entries + 1] = string.format('%.0f', due - t) .. ' ' .. member
    else
      near[#near + 1] = item[4] or string.format('%.0f', due)
      near[#near + 1] = member
    end
  end
  in_chunks('ZADD', timers, near, 1, #near)
  for _, t in ipairs(order) do
    local entries, name = far[t], string.format('%.0f', t)
    in_chunks('RPUSH', timers .. ':b:' .. name, entries, 1, #entries)
    redis.call('ZADD', timers .. ':b', name, name)
  end
end
)lua";

// An entry is still wanted when its lead's enrollment in the workflow is at the entry's seq (every change of a
// timer moves the seq on); a lead erased or moved on drops it here instead of firing a timer for nothing.
const char* const promote_buckets_lua = R"lua(
local timers, now, prefix, budget = KEYS[1], tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local index = timers .. ':b'
local function current(member)
  local lead, workflow, seq = string.match(member, '^(.*)\31([^\31]*)\31(%d+)$')
  if not lead then return false end
  -- A lead key that is not a hash (broken by hand) keeps its timer: firing it dead-letters it with the reason.
  local enrollment = redis.pcall('HGET', prefix .. lead, 'e:' .. workflow)
  if type(enrollment) == 'table' and enrollment.err then return true end
  return enrollment and string.match(enrollment, '^[^,]*,[^,]*,([^,]*)') == seq
end
-- Each filing moves an entry to a finer bucket or to the sorted set, so this ends; the budget bounds one call.
local looked = 0
local due = redis.call('ZRANGEBYSCORE', index, '-inf', ARGV[1], 'LIMIT', 0, 16)
while #due > 0 and looked < budget do
  for _, t in ipairs(due) do
    local key = timers .. ':b:' .. t
    local entries = redis.call('LPOP', key, budget - looked)
    if entries then
      local items, base = {}, tonumber(t)
      for _, entry in ipairs(entries) do
        local space = string.find(entry, ' ', 1, true)
        local member = space and string.sub(entry, space + 1)
        if member and current(member) then
          items[#items + 1] = {base + tonumber(string.sub(entry, 1, space - 1)), member, now}
        end
      end
      file_timers(timers, items)
      looked = looked + #entries
    end
    if redis.call('EXISTS', key) == 0 then redis.call('ZREM', index, t) end
    if looked >= budget then break end
  end
  due = redis.call('ZRANGEBYSCORE', index, '-inf', ARGV[1], 'LIMIT', 0, 16)
end
return {looked, #due}
)lua";

const char* const find_bucketed_lua = R"lua(
for _, t in ipairs(redis.call('ZRANGE', KEYS[1] .. ':b', 0, -1)) do
  for _, entry in ipairs(redis.call('LRANGE', KEYS[1] .. ':b:' .. t, 0, -1)) do
    local space = string.find(entry, ' ', 1, true)
    if space and string.sub(entry, space + 1) == ARGV[1] then
      return string.format('%.0f', tonumber(t) + tonumber(string.sub(entry, 1, space - 1)))
    end
  end
end
return false
)lua";

const char* const erase_bucketed_lua = R"lua(
local removed = 0
for _, t in ipairs(redis.call('ZRANGE', KEYS[1] .. ':b', 0, -1)) do
  local key = KEYS[1] .. ':b:' .. t
  for _, entry in ipairs(redis.call('LRANGE', key, 0, -1)) do
    local space = string.find(entry, ' ', 1, true)
    if space and string.sub(entry, space + 1, space + #ARGV[1]) == ARGV[1] then
      removed = removed + redis.call('LREM', key, 0, entry)
    end
  end
  if redis.call('EXISTS', key) == 0 then redis.call('ZREM', KEYS[1] .. ':b', t) end
end
return removed
)lua";

}  // namespace nurture::engine::redis
