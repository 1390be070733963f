-- payment-start: the payment simulator counts its own payments in flight, apart
-- from the semaphore, so the slot cap is checked by code that does not enforce it.
-- KEYS[1] in-flight ZSET (payment id -> deadline ms)   KEYS[2] peak counter
-- ARGV[1] payment id   ARGV[2] how long the payment may count as in flight (ms)
-- Returns the number of payments in flight, this one included.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
local n = redis.call('ZCARD', KEYS[1])
if n > tonumber(redis.call('GET', KEYS[2]) or '0') then redis.call('SET', KEYS[2], n) end
return n
