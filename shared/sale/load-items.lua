-- load-items: put a batch of a sale's items in Redis. An item already there is
-- left alone, so loading twice (two schedulers, a retry) changes nothing.
-- KEYS[1..n] item hashes
-- ARGV[2i-1], ARGV[2i] total stock and units already sold for KEYS[i]
-- Returns how many items were new.
-- The ticket and item hashes' short field names are listed in shared/fields.ts.
local added = 0
for i, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 0 then
    local tot, sd = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
    redis.call('HSET', key, 'tot', tot, 'av', tot - sd, 'rs', 0, 'sd', sd, 'q', 0)
    added = added + 1
  end
end
return added
