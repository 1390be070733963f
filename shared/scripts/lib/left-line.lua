-- left_line(item, line, seq, now): ticket `seq` leaves its item's line (ZSET) and the
-- line's pace on the item hash is updated: `gap`, the smoothed time between departures
-- (a running mean over the last 5, `gn` counting up to 5), and `lt`, the last departure,
-- kept only while someone is still in line. Tickets' ETAs are read from these two fields.
local function left_line(item, line, seq, now)
  redis.call('ZREM', line, seq)
  local lt = redis.call('HGET', item, 'lt')
  if lt then
    local gap = now - tonumber(lt)
    local p = redis.call('HMGET', item, 'gap', 'gn')
    local n = math.min(tonumber(p[2] or '0') + 1, 5)
    local prev = tonumber(p[1] or gap)
    redis.call('HSET', item, 'gap', math.floor(prev + (gap - prev) / n + 0.5), 'gn', n)
  end
  if redis.call('ZCARD', line) > 0 then redis.call('HSET', item, 'lt', now) else redis.call('HDEL', item, 'lt') end
end
