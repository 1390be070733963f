-- reserve: a worker takes a queued ticket and tries to hold a unit for it.
-- KEYS[1] sale hash   KEYS[2] item hash   KEYS[3] held   KEYS[4] pending
-- KEYS[5] ticket hash   KEYS[6] item waitlist (ZSET ticket seq, scored by place)   KEYS[7] item line
-- KEYS[8] sale mode (HASH: cm 'two_step' and hold ms, or absent)
-- ARGV[1] ticket seq   ARGV[2] final-ticket ttl (s)   ARGV[3] sale events channel
-- ARGV[4] a fresh random code secret, used if a two_step ticket holds a unit without a code yet
-- A ticket's place in line is its field ord (set by open-room.lua for the fair-start room), else its seq.
-- Publishes "seq:reserved:ms" or "seq:rejected:ms" when the ticket leaves the line.
-- Returns {'reserved'} | {'held', code secret, expires_at ms, confirmed '1' or ''} (two_step)
--   | {'waiting'} | {'rejected', reason} | {current status} | {'missing'}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

-- A two_step sale holds the unit behind a code until POST /purchase confirms it or the hold expires.
local function hold(announce)
  local m = redis.call('HMGET', KEYS[8], 'cm', 'hold')
  if m[1] ~= 'two_step' then return {'reserved'} end
  local h = redis.call('HMGET', KEYS[5], 'cd', 'ex', 'cf')
  if not h[1] then
    h[1], h[2] = ARGV[4], now + tonumber(m[2])
    redis.call('HSET', KEYS[5], 'cd', h[1], 'ex', h[2], 'ua', now)
    -- Same status, new fields: a client waiting for its code reads the ticket again.
    if announce then redis.call('PUBLISH', ARGV[3], ARGV[1] .. ':reserved:' .. now) end
  end
  return {'held', h[1], h[2], h[3] or ''}
end

local tk = redis.call('HMGET', KEYS[5], 'st', 'u', 'ord')
if not tk[1] then return {'missing'} end
if tk[1] == 'reserved' then return hold(true) end
if tk[1] ~= 'queued' then return {tk[1]} end
local user = tk[2]
local ord = tonumber(tk[3] or ARGV[1])

-- Leaving the line: out of the line ZSET, and the item's pace for ETAs: the gap between
-- departures, measured only while someone waited (idle time never counts), averaged over
-- the first 5 then smoothed (each new gap weighs 1/5), so one slow start soon fades.
local function left_line(seq, now)
  redis.call('ZREM', KEYS[7], seq)
  local lt = redis.call('HGET', KEYS[2], 'lt')
  if lt then
    local gap = now - tonumber(lt)
    local p = redis.call('HMGET', KEYS[2], 'gap', 'gn')
    local n = math.min(tonumber(p[2] or '0') + 1, 5)
    local prev = tonumber(p[1] or gap)
    redis.call('HSET', KEYS[2], 'gap', math.floor(prev + (gap - prev) / n + 0.5), 'gn', n)
  end
  if redis.call('ZCARD', KEYS[7]) > 0 then redis.call('HSET', KEYS[2], 'lt', now) else redis.call('HDEL', KEYS[2], 'lt') end
end

local function leave_line()
  redis.call('HINCRBY', KEYS[2], 'q', -1)
  redis.call('HINCRBY', KEYS[1], 'q', -1)
  if redis.call('HINCRBY', KEYS[4], user, -1) <= 0 then redis.call('HDEL', KEYS[4], user) end
  redis.call('ZREM', KEYS[6], ARGV[1])
  left_line(ARGV[1], now)
end

local function reject(reason)
  leave_line()
  redis.call('HSET', KEYS[5], 'st', 'rejected', 'rs', reason, 'pos', '', 'ua', now)
  redis.call('EXPIRE', KEYS[5], tonumber(ARGV[2]))
  redis.call('PUBLISH', ARGV[3], ARGV[1] .. ':rejected:' .. now)
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
local head = redis.call('ZRANGE', KEYS[6], 0, 0, 'WITHSCORES')
local first = (head[2] == nil) or (tonumber(head[2]) >= ord)

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
  local out = hold(false)
  redis.call('PUBLISH', ARGV[3], ARGV[1] .. ':reserved:' .. now)
  return out
end
if av > 0 or rs > 0 then
  if not waiting then redis.call('ZADD', KEYS[6], ord, ARGV[1]) end
  return {'waiting'}
end
return reject('sold_out')
