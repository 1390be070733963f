-- withdraw: a checkout was admitted but its ticket could not be queued (the enqueue
-- failed); take the admission back so nothing is left that could later buy (the sweeper
-- queues tickets without a job), unless a worker has it already (the enqueue reached Redis
-- and only its answer was lost). The client is answered 503 and never sees the ticket.
-- KEYS[1] sale hash   KEYS[2] item hash   KEYS[3] pending   KEYS[4] ticket hash
-- KEYS[5] item line   KEYS[6] the checkout's idempotency key (unused without one)
-- ARGV[1] ticket seq   ARGV[2] final-ticket ttl (s)
-- Returns {'withdrawn'} | {'kept', status}
local now = now_ms() -- shared/scripts/lib/now.lua, prepended at load
local tk = redis.call('HMGET', KEYS[4], 'st', 'u')
if tk[1] ~= 'queued' then return {'kept', tk[1] or 'missing'} end
redis.call('ZREM', KEYS[5], ARGV[1])
redis.call('HINCRBY', KEYS[2], 'q', -1)
redis.call('HINCRBY', KEYS[1], 'q', -1)
if redis.call('HINCRBY', KEYS[3], tk[2], -1) <= 0 then redis.call('HDEL', KEYS[3], tk[2]) end
-- Final, so the sweeper and any late job leave it alone; kept for the audit, which counts every ticket.
redis.call('HSET', KEYS[4], 'st', 'rejected', 'why', 'unavailable', 'pos', '', 'ua', now)
redis.call('EXPIRE', KEYS[4], tonumber(ARGV[2]))
-- A retry with the same key is a new checkout, not a replay of this one.
local idem = redis.call('GET', KEYS[6])
if idem and string.sub(idem, -(#ARGV[1] + 1)) == '|' .. ARGV[1] then redis.call('DEL', KEYS[6]) end
return {'withdrawn'}
