-- admit: decide a checkout at the edge and, if accepted, create its ticket.
-- KEYS[1] sale hash   KEYS[2] item hash   KEYS[3] held (user -> units)
-- KEYS[4] pending (user -> queued tickets)   KEYS[5] idempotency key (may be unused)
-- KEYS[6] item line (ZSET of queued ticket seqs, scored by place in line)
-- KEYS[7] sale mode (HASH cm, fs)   KEYS[8] fair-start room (LIST)   KEYS[9] room's way out (LIST)
-- KEYS[10] the user's rate-limit token bucket (HASH t = tokens left, ts = when counted, ms)
-- KEYS[11] the user's tickets in this sale (ZSET seq -> created_at ms, for GET /users/{id}/tickets)
-- ARGV[1] user id   ARGV[2] item id   ARGV[3] ticket key prefix
-- ARGV[4] line factor (queued tickets allowed per unit still sellable)
-- ARGV[5] queue max (queued tickets across the sale)
-- ARGV[6] idempotency fingerprint ('' = no key)   ARGV[7] idempotency ttl (s)
-- ARGV[8] fair-start window (ms before the opening that checkouts enter the room; 0 = none)
-- ARGV[9] the user's checkout rate (tokens per second; 0 = no limit)   ARGV[10] its burst
-- ARGV[11] the new ticket's key (the random part of its id, kept as field k)
-- Publishes nothing: no one can be watching a ticket before its id is handed out.
-- Returns {'ok', seq, position, created_at, av, rs, sd, tot, gap, lt, defer, starts_at, mode}
--   | {'existing', seq, key} | {'rate_limited', ms until a token} | {'<error code>'}
--   (the item's stock and line pace, so the answer carries an ETA without another read; gap/lt '' if unknown;
--   defer '' = the caller queues the ticket, 'room' = it waits in the fair-start room (position ''),
--   'late' = the room's opener queues it behind the room; mode 'two_step' or '')
local now = now_ms() -- shared/scripts/lib/now.lua, prepended at load

if ARGV[6] ~= '' then
  local prev = redis.call('GET', KEYS[5])
  if prev then
    local sep = string.find(prev, '|', 1, true)
    if string.sub(prev, 1, sep - 1) ~= ARGV[6] then return {'idempotency_conflict'} end
    local seq = string.sub(prev, sep + 1)
    return {'existing', seq, redis.call('HGET', ARGV[3] .. seq, 'k') or ''}
  end
end

local s = redis.call('HMGET', KEYS[1], 'st', 'sa', 'ea', 'ul', 'q')
if not s[1] then return {'sale_not_found'} end
if redis.call('EXISTS', KEYS[2]) == 0 then return {'item_not_found'} end
if s[1] == 'closed' or now >= tonumber(s[3]) then return {'sale_not_active'} end
local x = redis.call('HMGET', KEYS[7], 'cm', 'fs')
local sa = tonumber(s[2])
local defer = ''
if now < sa then
  -- Shortly before the opening a checkout waits in the room, shuffled at the opening.
  if now < sa - tonumber(ARGV[8]) then return {'sale_not_active'} end
  defer = 'room'
elseif x[2] == 'room' or x[2] == 'draining' then
  -- Open, but the room is not all queued yet: this ticket goes behind it.
  defer = 'late'
end

-- The user's token bucket, here rather than in a call of its own: one round trip per
-- checkout. A replay (above) or a checkout for another sale's item costs no token;
-- a refused one costs none either, so the clock alone refills.
local rate = tonumber(ARGV[9])
if rate > 0 then
  local burst = tonumber(ARGV[10])
  local b = redis.call('HMGET', KEYS[10], 't', 'ts')
  local tokens = burst
  -- max(0, ...): a clock step backwards must not drain the bucket.
  if b[1] then tokens = math.min(burst, tonumber(b[1]) + math.max(0, now - tonumber(b[2])) * rate / 1000) end
  if tokens < 1 then return {'rate_limited', math.ceil((1 - tokens) * 1000 / rate)} end
  redis.call('HSET', KEYS[10], 't', tokens - 1, 'ts', now)
  -- Gone once it would be full again: an idle user costs no memory.
  redis.call('PEXPIRE', KEYS[10], math.ceil(burst * 1000 / rate) + 1000)
end

local it = redis.call('HMGET', KEYS[2], 'av', 'rs', 'q', 'sd', 'tot', 'gap', 'lt')
local av, rs, q = tonumber(it[1]), tonumber(it[2]), tonumber(it[3])
if av <= 0 and rs <= 0 then return {'sold_out'} end

local user = ARGV[1]
local held = tonumber(redis.call('HGET', KEYS[3], user) or '0')
local pend = tonumber(redis.call('HGET', KEYS[4], user) or '0')
if held + pend >= tonumber(s[4]) then return {'user_limit_reached'} end

-- The line is bounded by what can still sell: a million shoppers for ten
-- units never become a million queued jobs.
if q >= (av + rs) * tonumber(ARGV[4]) then return {'overloaded'} end
if tonumber(s[5]) >= tonumber(ARGV[5]) then return {'overloaded'} end

local seq = redis.call('HINCRBY', KEYS[1], 'tseq', 1)
local pos = redis.call('HINCRBY', KEYS[2], 'q', 1)
redis.call('HINCRBY', KEYS[1], 'q', 1)
redis.call('HINCRBY', KEYS[4], user, 1)
local tkey = ARGV[3] .. seq
if defer == '' then
  redis.call('HSET', tkey, 'st', 'queued', 'u', user, 'i', ARGV[2], 'pos', pos, 'ca', now, 'ua', now)
  redis.call('ZADD', KEYS[6], seq, seq)
else
  -- "seq:item:user:key" (ids have no ':'), for the room's opener to queue it.
  local entry = seq .. ':' .. ARGV[2] .. ':' .. user .. ':' .. ARGV[11]
  if defer == 'room' then
    -- No place in line until the shuffle: oa tells the client when to ask again.
    redis.call('HSET', tkey, 'st', 'queued', 'u', user, 'i', ARGV[2], 'oa', sa, 'ca', now, 'ua', now)
    redis.call('RPUSH', KEYS[8], entry)
    if x[2] ~= 'room' then redis.call('HSET', KEYS[7], 'fs', 'room') end
    pos = ''
  else
    -- pos (every ticket queued for the item) bounds the place from above; once the room is
    -- shuffled into the line the exact rank shows.
    redis.call('HSET', tkey, 'st', 'queued', 'u', user, 'i', ARGV[2], 'pos', pos, 'ca', now, 'ua', now)
    if x[2] == 'draining' then redis.call('ZADD', KEYS[6], seq, seq) end
    redis.call('RPUSH', KEYS[9], entry)
  end
end
redis.call('HSET', tkey, 'k', ARGV[11])
redis.call('ZADD', KEYS[11], now, seq)
if x[1] == 'two_step' then redis.call('HSET', tkey, 'two', '1') end
if ARGV[6] ~= '' then
  redis.call('SET', KEYS[5], ARGV[6] .. '|' .. seq, 'EX', tonumber(ARGV[7]))
end
return {'ok', seq, pos, now, av, rs, it[4] or '0', it[5] or '0', it[6] or '', it[7] or '', defer, sa, x[1] or ''}
