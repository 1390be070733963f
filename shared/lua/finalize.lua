-- finalize: the purchase is committed in PostgreSQL; mirror it in Redis. When
-- the item has nothing left, every ticket still waiting for it is rejected.
-- KEYS[1] sale hash   KEYS[2] item hash   KEYS[3] pending   KEYS[4] ticket hash
-- KEYS[5] item waitlist   KEYS[6] item line
-- ARGV[1] purchase id   ARGV[2] ticket key prefix   ARGV[3] final-ticket ttl (s)
-- ARGV[4] sale events channel   ARGV[5] ticket seq
-- Publishes "seq:purchased:ms" and one "waiter:rejected:ms" per waiter rejected, in one message.
-- Returns {'purchased', waiters rejected, {their seqs}} | {'noop', status}: the caller wakes the
-- rejected waiters' jobs, which would otherwise sleep until their re-check for nothing.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[3])
local st = redis.call('HGET', KEYS[4], 'st')
if st ~= 'paying' then return {'noop', st or 'missing'} end
redis.call('HSET', KEYS[4], 'st', 'purchased', 'pid', ARGV[1], 'ua', now)
redis.call('EXPIRE', KEYS[4], ttl)
redis.call('HINCRBY', KEYS[2], 'rs', -1)
redis.call('HINCRBY', KEYS[2], 'sd', 1)
redis.call('HINCRBY', KEYS[1], 'rs', -1)
redis.call('HINCRBY', KEYS[1], 'sd', 1)

local rejected = {}
local events = {ARGV[5] .. ':purchased:' .. now}
local it = redis.call('HMGET', KEYS[2], 'av', 'rs')
if tonumber(it[1]) <= 0 and tonumber(it[2]) <= 0 then
  for _, seq in ipairs(redis.call('ZRANGE', KEYS[5], 0, -1)) do
    local wkey = ARGV[2] .. seq
    local wt = redis.call('HMGET', wkey, 'st', 'u')
    if wt[1] == 'queued' then
      redis.call('HSET', wkey, 'st', 'rejected', 'rs', 'sold_out', 'pos', '', 'ua', now)
      redis.call('EXPIRE', wkey, ttl)
      redis.call('HINCRBY', KEYS[2], 'q', -1)
      redis.call('HINCRBY', KEYS[1], 'q', -1)
      if redis.call('HINCRBY', KEYS[3], wt[2], -1) <= 0 then redis.call('HDEL', KEYS[3], wt[2]) end
      redis.call('ZREM', KEYS[6], seq)
      table.insert(events, seq .. ':rejected:' .. now)
      table.insert(rejected, seq)
    end
  end
  redis.call('DEL', KEYS[5])
end
redis.call('PUBLISH', ARGV[4], table.concat(events, ' '))
return {'purchased', #rejected, rejected}
