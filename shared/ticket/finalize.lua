-- finalize: purchases are committed in PostgreSQL; mirror them in Redis, one call for a
-- settled batch of one sale. When an item has nothing left, every ticket still waiting
-- for it is rejected.
-- KEYS[1] sale hash   KEYS[2] pending
-- then for each ticket i (base b = 2 + 4 * (i - 1)):
-- KEYS[b+1] item hash   KEYS[b+2] ticket hash   KEYS[b+3] item waitlist   KEYS[b+4] item line
-- ARGV[1] ticket key prefix   ARGV[2] final-ticket ttl (s)   ARGV[3] sale events channel
-- then for each ticket i: ARGV[2*i+2] purchase id   ARGV[2*i+3] ticket seq
-- Publishes "seq:purchased:ms" per ticket and one "waiter:rejected:ms" per waiter rejected, in one message.
-- Returns one entry per ticket, in order: {'purchased', waiters rejected, {their seqs}} | {'noop', status}
-- | {'error', 0, {}, message}:
-- the caller wakes the rejected waiters' jobs, which would otherwise sleep until their re-check for nothing.
-- The ticket and item hashes' short field names are listed in shared/fields.ts.
local now = now_ms() -- shared/scripts/lib/now.lua, prepended at load
local ttl = tonumber(ARGV[2])
local events = {}

local function finalize_one(item, tkey, waitlist, line, purchase_id, seq)
  local st = redis.call('HGET', tkey, 'st')
  if st ~= 'paying' then return {'noop', st or 'missing'} end
  redis.call('HSET', tkey, 'st', 'purchased', 'pid', purchase_id, 'ua', now)
  redis.call('EXPIRE', tkey, ttl)
  redis.call('HINCRBY', item, 'rs', -1)
  redis.call('HINCRBY', item, 'sd', 1)
  redis.call('HINCRBY', KEYS[1], 'rs', -1)
  redis.call('HINCRBY', KEYS[1], 'sd', 1)
  table.insert(events, seq .. ':purchased:' .. now)

  local rejected = {}
  local it = redis.call('HMGET', item, 'av', 'rs')
  if tonumber(it[1]) <= 0 and tonumber(it[2]) <= 0 then
    for _, wseq in ipairs(redis.call('ZRANGE', waitlist, 0, -1)) do
      local wkey = ARGV[1] .. wseq
      local wt = redis.call('HMGET', wkey, 'st', 'u')
      if wt[1] == 'queued' then
        redis.call('HSET', wkey, 'st', 'rejected', 'why', 'sold_out', 'pos', '', 'ua', now)
        redis.call('EXPIRE', wkey, ttl)
        redis.call('HINCRBY', item, 'q', -1)
        redis.call('HINCRBY', KEYS[1], 'q', -1)
        if redis.call('HINCRBY', KEYS[2], wt[2], -1) <= 0 then redis.call('HDEL', KEYS[2], wt[2]) end
        redis.call('ZREM', line, wseq)
        table.insert(events, wseq .. ':rejected:' .. now)
        table.insert(rejected, wseq)
      end
    end
    redis.call('DEL', waitlist)
  end
  return {'purchased', #rejected, rejected}
end

local out = {}
for i = 1, (#KEYS - 2) / 4 do
  local b = 2 + 4 * (i - 1)
  -- One ticket's error fails that ticket alone (its settlement is retried and finds its purchase).
  local ok, res = pcall(finalize_one, KEYS[b + 1], KEYS[b + 2], KEYS[b + 3], KEYS[b + 4], ARGV[2 * i + 2], ARGV[2 * i + 3])
  out[i] = ok and res or {'error', 0, {}, type(res) == 'table' and tostring(res.err) or tostring(res)}
end
if #events > 0 then redis.call('PUBLISH', ARGV[3], table.concat(events, ' ')) end
return out
