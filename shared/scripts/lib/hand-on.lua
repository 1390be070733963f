-- hand_on(sale, item, held, pending, waitlist, line, mode, prefix, secret, channel, now):
-- a unit given back (a failed payment, an expired or given-up hold) goes to the earliest
-- waiting ticket for the item whose user is under the sale's limit (invariants 3 and 10),
-- which leaves the line reserved (in a two_step sale, holding it behind a fresh code);
-- with nobody waiting, back to stock. Returns the waiter's seq, or nil when restocked.
-- Needs left_line (shared/scripts/lib/left-line.lua) in front of it.
-- The ticket and item hashes' short field names are listed in shared/fields.ts.
local function hand_on(sale, item, held, pending, waitlist, line, mode, prefix, secret, channel, now)
  local limit = tonumber(redis.call('HGET', sale, 'ul'))
  while true do
    local w = redis.call('ZPOPMIN', waitlist)
    if #w == 0 then break end
    local wkey = prefix .. w[1]
    local wt = redis.call('HMGET', wkey, 'st', 'u')
    if wt[1] == 'queued' and tonumber(redis.call('HGET', held, wt[2]) or '0') < limit then
      redis.call('HSET', wkey, 'st', 'reserved', 'pos', '', 'ua', now)
      -- In a two_step sale the waiter's hold (and its code) starts now.
      local m = redis.call('HMGET', mode, 'cm', 'hold')
      if m[1] == 'two_step' then redis.call('HSET', wkey, 'cd', secret, 'ex', now + tonumber(m[2])) end
      redis.call('HINCRBY', item, 'q', -1)
      redis.call('HINCRBY', sale, 'q', -1)
      if redis.call('HINCRBY', pending, wt[2], -1) <= 0 then redis.call('HDEL', pending, wt[2]) end
      redis.call('HINCRBY', held, wt[2], 1)
      left_line(item, line, w[1], now)
      redis.call('PUBLISH', channel, w[1] .. ':reserved:' .. now)
      return w[1]
    end
  end
  for _, k in ipairs({item, sale}) do
    redis.call('HINCRBY', k, 'rs', -1)
    redis.call('HINCRBY', k, 'av', 1)
  end
  return nil
end
