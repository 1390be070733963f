-- count-in-flight: the payment simulator counts its own payments in flight, apart
-- from the semaphore, so the slot cap is checked by code that does not enforce it.
-- One call for the payments that start together.
-- KEYS[1] in-flight ZSET (payment id -> deadline ms)   KEYS[2] peak counter
-- ARGV[2i-1] payment id i   ARGV[2i] its deadline (ms, Redis clock): it counts as in flight
--   until then at most, so one whose worker died stops counting before its slot's lease
--   (which outlives the deadline) runs out
-- Returns the number of payments in flight, these included.
local now = now_ms() -- shared/scripts/lib/now.lua, prepended at load
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
for i = 1, #ARGV, 2 do redis.call('ZADD', KEYS[1], tonumber(ARGV[i + 1]), ARGV[i]) end
local n = redis.call('ZCARD', KEYS[1])
if n > tonumber(redis.call('GET', KEYS[2]) or '0') then redis.call('SET', KEYS[2], n) end
return n
