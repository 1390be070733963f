-- acquire-slots: the payment-slot semaphore. Holders live in a ZSET scored by
-- lease expiry, so a crashed worker's slot comes back when its lease runs out.
-- KEYS[1] slot semaphore ZSET   KEYS[2] payment settings hash (field 'slots')
-- ARGV[1] lease (ms)   ARGV[2..] holder ids, in the order they asked
-- Returns {granted, lease expiry (ms)}: how many of the holders, from the first, were
-- granted a slot, and until when (start-payment.lua needs no second call when it is soon).
local now = now_ms() -- shared/scripts/lib/now.lua, prepended at load
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local cap = tonumber(redis.call('HGET', KEYS[2], 'slots') or '1')
local free = cap - redis.call('ZCARD', KEYS[1])
local granted = 0
local expiry = now + tonumber(ARGV[1])
for i = 2, #ARGV do
  if granted >= free then break end
  redis.call('ZADD', KEYS[1], expiry, ARGV[i])
  granted = granted + 1
end
return {granted, expiry}
