-- start-payment: a reserved ticket whose slot was just granted starts paying. The
-- slot's lease is stretched to cover this payment's deadline, so a timeout raised
-- meanwhile can never outlive the lease.
-- KEYS[1] ticket hash   KEYS[2] slot semaphore ZSET
-- ARGV[1] payment timeout (ms)   ARGV[2] slot holder id (kept so a later attempt can free it)
-- ARGV[3] the worker running the payment (host:pid), for operators tracing a ticket
-- ARGV[4] lease grace beyond the deadline (ms)
-- ARGV[5] sale events channel   ARGV[6] ticket seq (publishes "seq:paying:ms")
-- Returns {'paying', deadline_ms} | {'busy', deadline_ms} (another attempt is paying)
--       | {'noslot'} (the lease lapsed before the payment could start) | {current status}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tk = redis.call('HMGET', KEYS[1], 'st', 'pd')
if tk[1] == 'paying' then return {'busy', tk[2]} end
if tk[1] ~= 'reserved' then return {tk[1] or 'missing'} end
local lease = redis.call('ZSCORE', KEYS[2], ARGV[2])
if not lease or tonumber(lease) <= now then
  redis.call('ZREM', KEYS[2], ARGV[2])
  return {'noslot'}
end
local deadline = now + tonumber(ARGV[1])
redis.call('ZADD', KEYS[2], 'XX', deadline + tonumber(ARGV[4]), ARGV[2])
redis.call('HSET', KEYS[1], 'st', 'paying', 'pd', deadline, 'sh', ARGV[2], 'w', ARGV[3], 'ua', now)
redis.call('PUBLISH', ARGV[5], ARGV[6] .. ':paying:' .. now)
return {'paying', deadline}
