-- left_line(item, line, seq, now): ticket `seq` leaves its item's line (ZSET), and the
-- item's pace for ETAs is counted: the gap between departures (`gap`, with `gn` of them
-- counted), measured only while someone waited (idle time never counts: `lt`, the last
-- departure, is kept only while the line is not empty), averaged over the first 5 then
-- smoothed (each new gap weighs 1/5), so one slow start soon fades.
-- The ticket and item hashes' short field names are listed in shared/fields.ts.
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
