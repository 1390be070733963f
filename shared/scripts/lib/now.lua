-- now_ms(): Redis's clock in ms. Every script reads time from Redis, never from its caller,
-- so one clock orders every deadline, however far apart the processes' clocks are.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
