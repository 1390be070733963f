-- extend-lease: a slot just granted is stretched to cover a payment's deadline, before
-- the ticket starts paying (start-payment.lua), so the payment never outlives its lease.
-- KEYS[1] slot semaphore ZSET
-- ARGV[1] payment timeout (ms)   ARGV[2] slot holder id   ARGV[3] lease grace beyond the deadline (ms)
-- Returns {'leased', deadline_ms} | {'noslot'} (the lease lapsed before the payment could start)
local now = now_ms() -- shared/scripts/lib/now.lua, prepended at load
local lease = redis.call('ZSCORE', KEYS[1], ARGV[2])
if not lease or tonumber(lease) <= now then
  redis.call('ZREM', KEYS[1], ARGV[2])
  return {'noslot'}
end
local deadline = now + tonumber(ARGV[1])
redis.call('ZADD', KEYS[1], 'XX', deadline + tonumber(ARGV[3]), ARGV[2])
return {'leased', deadline}
