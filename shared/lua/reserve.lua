-- reserve: a worker takes a queued ticket and tries to hold a unit for it.
-- KEYS[1] sale hash   KEYS[2] item hash   KEYS[3] held   KEYS[4] pending
-- KEYS[5] ticket hash   KEYS[6] item waitlist (ZSET ticket seq -> seq)
-- ARGV[1] ticket seq   ARGV[2] final-ticket ttl (s)
-- Returns {'reserved'} | {'waiting'} | {'rejected', reason} | {current status} | {'missing'}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local tk = redis.call('HMGET', KEYS[5], 'st', 'u')
if not tk[1] then return {'missing'} end
if tk[1] ~= 'queued' then return {tk[1]} end
local user = tk[2]

local function leave_line()
  redis.call('HINCRBY', KEYS[2], 'q', -1)
  redis.call('HINCRBY', KEYS[1], 'q', -1)
  if redis.call('HINCRBY', KEYS[4], user, -1) <= 0 then redis.call('HDEL', KEYS[4], user) end
  redis.call('ZREM', KEYS[6], ARGV[1])
end

local function reject(reason)
  leave_line()
  redis.call('HSET', KEYS[5], 'st', 'rejected', 'rs', reason, 'pos', '', 'ua', now)
  redis.call('EXPIRE', KEYS[5], tonumber(ARGV[2]))
  return {'rejected', reason}
end

local s = redis.call('HMGET', KEYS[1], 'st', 'sa', 'ea', 'ul')
if s[1] == 'closed' or now < tonumber(s[2]) or now >= tonumber(s[3]) then return reject('sale_not_active') end

local it = redis.call('HMGET', KEYS[2], 'av', 'rs')
local av, rs = tonumber(it[1]), tonumber(it[2])
local waiting = redis.call('ZSCORE', KEYS[6], ARGV[1])

-- A released unit is handed to the earliest waiter directly (release.lua), so
-- a free unit with waiters ahead only appears after a stock increase; still,
-- never let a ticket jump the line.
local head = redis.call('ZRANGE', KEYS[6], 0, 0)[1]
local first = (head == nil) or (tonumber(head) >= tonumber(ARGV[1]))

if av > 0 and first then
  if tonumber(redis.call('HGET', KEYS[3], user) or '0') >= tonumber(s[4]) then
    return reject('user_limit_reached')
  end
  leave_line()
  redis.call('HINCRBY', KEYS[2], 'av', -1)
  redis.call('HINCRBY', KEYS[2], 'rs', 1)
  redis.call('HINCRBY', KEYS[1], 'av', -1)
  redis.call('HINCRBY', KEYS[1], 'rs', 1)
  redis.call('HINCRBY', KEYS[3], user, 1)
  redis.call('HSET', KEYS[5], 'st', 'reserved', 'pos', '', 'ua', now)
  return {'reserved'}
end
if av > 0 or rs > 0 then
  if not waiting then redis.call('ZADD', KEYS[6], ARGV[1], ARGV[1]) end
  return {'waiting'}
end
return reject('sold_out')
