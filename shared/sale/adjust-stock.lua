-- adjust-stock: add or remove units of an item; added units go first to the
-- tickets waiting for it, earliest first.
-- KEYS[1] sale hash   KEYS[2] item hash   KEYS[3] held   KEYS[4] pending   KEYS[5] item waitlist
-- KEYS[6] item line
-- ARGV[1] delta   ARGV[2] ticket key prefix   ARGV[3] sale events channel
-- Publishes "seq:reserved:ms" for each waiter handed a unit, in one message.
-- Returns {'ok', waiter seqs handed a unit...} | {'insufficient', available} | {'item_not_found'}
-- A sale still loading has no 'st' yet: touching its hash now would leave it half-made.
-- The ticket and item hashes' short field names are listed in shared/fields.ts.
if redis.call('EXISTS', KEYS[2]) == 0 or not redis.call('HGET', KEYS[1], 'st') then return {'item_not_found'} end
local delta = tonumber(ARGV[1])
local av = tonumber(redis.call('HGET', KEYS[2], 'av'))
if av + delta < 0 then return {'insufficient', av} end
redis.call('HINCRBY', KEYS[2], 'tot', delta)
redis.call('HINCRBY', KEYS[2], 'av', delta)
redis.call('HINCRBY', KEYS[1], 'tot', delta)
redis.call('HINCRBY', KEYS[1], 'av', delta)
local out = {'ok'}
if delta <= 0 then return out end

local now = now_ms() -- shared/scripts/lib/now.lua, prepended at load
local limit = tonumber(redis.call('HGET', KEYS[1], 'ul'))

-- left_line: shared/scripts/lib/left-line.lua, prepended at load.
-- Not hand_on (shared/scripts/lib/hand-on.lua), which gives back one reserved unit: these
-- units come from stock (av -> rs as each is handed), several go in one call and one event
-- message, and a two_step waiter's hold and code start when its job looks (reserve.lua).
av = av + delta
while av > 0 do
  local w = redis.call('ZPOPMIN', KEYS[5])
  if #w == 0 then break end
  local wkey = ARGV[2] .. w[1]
  local wt = redis.call('HMGET', wkey, 'st', 'u')
  if wt[1] == 'queued' and tonumber(redis.call('HGET', KEYS[3], wt[2]) or '0') < limit then
    redis.call('HSET', wkey, 'st', 'reserved', 'pos', '', 'ua', now)
    for _, k in ipairs({KEYS[2], KEYS[1]}) do
      redis.call('HINCRBY', k, 'q', -1)
      redis.call('HINCRBY', k, 'av', -1)
      redis.call('HINCRBY', k, 'rs', 1)
    end
    if redis.call('HINCRBY', KEYS[4], wt[2], -1) <= 0 then redis.call('HDEL', KEYS[4], wt[2]) end
    redis.call('HINCRBY', KEYS[3], wt[2], 1)
    av = av - 1
    left_line(KEYS[2], KEYS[6], w[1], now)
    table.insert(out, w[1])
  end
end
if #out > 1 then
  local events = {}
  for i = 2, #out do events[i - 1] = out[i] .. ':reserved:' .. now end
  redis.call('PUBLISH', ARGV[3], table.concat(events, ' '))
end
return out
