-- payment-start: the payment simulator counts its own payments in flight, apart
-- from the semaphore, so the slot cap is checked by code that does not enforce it.
-- One call for the payments that start together.
-- KEYS[1] in-flight ZSET (payment id -> deadline ms)   KEYS[2] peak counter
-- ARGV[1] how long a payment may count as in flight (ms)   ARGV[2..] payment ids
-- Returns the number of payments in flight, these included.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local expiry = now + tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], expiry, ARGV[i]) end
local n = redis.call('ZCARD', KEYS[1])
if n > tonumber(redis.call('GET', KEYS[2]) or '0') then redis.call('SET', KEYS[2], n) end
return n
