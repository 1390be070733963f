-- reserve: a worker takes queued tickets of one sale, in the order given (ticket order
-- within a batch job), and tries to hold a unit for each. One call for a whole batch.
-- KEYS[1] sale hash   KEYS[2] held   KEYS[3] pending
-- KEYS[4] sale mode (HASH: cm 'two_step' and hold ms, or absent)
-- then for each ticket i (base b = 4 + 4 * (i - 1)):
-- KEYS[b+1] item hash   KEYS[b+2] ticket hash
-- KEYS[b+3] item waitlist (ZSET ticket seq, scored by place)   KEYS[b+4] item line
-- ARGV[1] final-ticket ttl (s)   ARGV[2] sale events channel
-- then for each ticket i: ARGV[2*i+1] ticket seq
--   ARGV[2*i+2] a fresh random code secret, used if a two_step ticket holds a unit without a code yet
-- A ticket's place in line is its field ord (set by open-room.lua for the fair-start room), else its seq.
-- Publishes one message with a "seq:reserved:ms" or "seq:rejected:ms" word per ticket that left the line.
-- Returns one entry per ticket, in order:
--   {'reserved'} | {'held', code secret, expires_at ms, confirmed '1' or ''} (two_step)
--   | {'waiting'} | {'rejected', reason} | {current status} | {'missing'} | {'error', message}
-- The ticket and item hashes' short field names are listed in shared/fields.ts.
local now = now_ms() -- shared/scripts/lib/now.lua, prepended at load
local ttl = tonumber(ARGV[1])
local events = {}

local s = redis.call('HMGET', KEYS[1], 'st', 'sa', 'ea', 'ul')
local closed = s[2] and (s[1] == 'closed' or now < tonumber(s[2]) or now >= tonumber(s[3]))
local limit = tonumber(s[4] or '0')
local m = redis.call('HMGET', KEYS[4], 'cm', 'hold')
local two_step = m[1] == 'two_step'

-- A two_step sale holds the unit behind a code until POST /purchase confirms it or the hold expires.
local function hold(tkey, seq, secret, announce)
  if not two_step then return {'reserved'} end
  local h = redis.call('HMGET', tkey, 'cd', 'ex', 'cf')
  if not h[1] then
    h[1], h[2] = secret, now + tonumber(m[2])
    redis.call('HSET', tkey, 'cd', h[1], 'ex', h[2], 'ua', now)
    -- Same status, new fields: a client waiting for its code reads the ticket again.
    if announce then table.insert(events, seq .. ':reserved:' .. now) end
  end
  return {'held', h[1], h[2], h[3] or ''}
end

-- left_line: shared/scripts/lib/left-line.lua, prepended at load.

local function reserve_one(item, tkey, waitlist, line, seq, secret)
  local tk = redis.call('HMGET', tkey, 'st', 'u', 'ord')
  if not tk[1] then return {'missing'} end
  if tk[1] == 'reserved' then return hold(tkey, seq, secret, true) end
  if tk[1] ~= 'queued' then return {tk[1]} end
  local user = tk[2]
  local ord = tonumber(tk[3] or seq)

  local function leave_line()
    redis.call('HINCRBY', item, 'q', -1)
    redis.call('HINCRBY', KEYS[1], 'q', -1)
    if redis.call('HINCRBY', KEYS[3], user, -1) <= 0 then redis.call('HDEL', KEYS[3], user) end
    redis.call('ZREM', waitlist, seq)
    left_line(item, line, seq, now)
  end

  local function reject(reason)
    leave_line()
    redis.call('HSET', tkey, 'st', 'rejected', 'why', reason, 'pos', '', 'ua', now)
    redis.call('EXPIRE', tkey, ttl)
    table.insert(events, seq .. ':rejected:' .. now)
    return {'rejected', reason}
  end

  -- No sale hash (a reload has not published it yet): an error, so the job is retried.
  if not s[2] then error('sale not loaded') end
  if closed then return reject('sale_not_active') end

  local it = redis.call('HMGET', item, 'av', 'rs')
  local av, rs = tonumber(it[1]), tonumber(it[2])
  local waiting = redis.call('ZSCORE', waitlist, seq)

  -- A released unit is handed to the earliest waiter directly (release.lua), so
  -- a free unit with waiters ahead only appears after a stock increase; still,
  -- never let a ticket jump the line.
  local head = redis.call('ZRANGE', waitlist, 0, 0, 'WITHSCORES')
  local first = (head[2] == nil) or (tonumber(head[2]) >= ord)

  if av > 0 and first then
    if tonumber(redis.call('HGET', KEYS[2], user) or '0') >= limit then
      return reject('user_limit_reached')
    end
    leave_line()
    redis.call('HINCRBY', item, 'av', -1)
    redis.call('HINCRBY', item, 'rs', 1)
    redis.call('HINCRBY', KEYS[1], 'av', -1)
    redis.call('HINCRBY', KEYS[1], 'rs', 1)
    redis.call('HINCRBY', KEYS[2], user, 1)
    redis.call('HSET', tkey, 'st', 'reserved', 'pos', '', 'ua', now)
    local out = hold(tkey, seq, secret, false)
    table.insert(events, seq .. ':reserved:' .. now)
    return out
  end
  if av > 0 or rs > 0 then
    if not waiting then redis.call('ZADD', waitlist, ord, seq) end
    return {'waiting'}
  end
  return reject('sold_out')
end

local out = {}
for i = 1, (#KEYS - 4) / 4 do
  local b = 4 + 4 * (i - 1)
  -- An error (a key of the wrong type, a sale not loaded yet) fails that ticket alone; the
  -- caller retries it. It comes before the ticket's first write in every case but a corrupt hash.
  local ok, res = pcall(reserve_one, KEYS[b + 1], KEYS[b + 2], KEYS[b + 3], KEYS[b + 4], ARGV[2 * i + 1], ARGV[2 * i + 2])
  out[i] = ok and res or {'error', type(res) == 'table' and tostring(res.err) or tostring(res)}
end
if #events > 0 then redis.call('PUBLISH', ARGV[2], table.concat(events, ' ')) end
return out
