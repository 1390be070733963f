-- start-payment: a reserved ticket whose slot lease was just stretched (extend-lease.lua)
-- starts paying until that deadline. The lease lives in the global slot and the ticket
-- in its sale's, so the two are separate scripts: the lease is stretched first, so a
-- timeout raised meanwhile can never outlive it.
-- KEYS[1] ticket hash
-- ARGV[1] payment deadline (ms, from extend-lease)   ARGV[2] slot holder id (kept so a later attempt can free it)
-- ARGV[3] the worker running the payment (host:pid), for operators tracing a ticket
-- ARGV[4] sale events channel   ARGV[5] ticket seq (publishes "seq:paying:ms")
-- Returns {'paying', deadline_ms} | {'busy', deadline_ms} (another attempt is paying) | {current status}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tk = redis.call('HMGET', KEYS[1], 'st', 'pd')
if tk[1] == 'paying' then return {'busy', tk[2]} end
if tk[1] ~= 'reserved' then return {tk[1] or 'missing'} end
local deadline = tonumber(ARGV[1])
redis.call('HSET', KEYS[1], 'st', 'paying', 'pd', deadline, 'sh', ARGV[2], 'w', ARGV[3], 'ua', now)
redis.call('PUBLISH', ARGV[4], ARGV[5] .. ':paying:' .. now)
return {'paying', deadline}
