-- start-payment: a reserved ticket holding a payment slot starts paying. The lease lives
-- in the global slot and the ticket in its sale's, so the two are separate scripts: the
-- caller says until when its lease runs (from acquire-slots.lua, or from extend-lease.lua
-- when that is too soon), and the payment's deadline never passes that lease minus its
-- grace, so a timeout raised meanwhile can never outlive the lease.
-- KEYS[1] ticket hash
-- ARGV[1] payment timeout (ms)   ARGV[2] slot holder id (kept so a later attempt can free it)
-- ARGV[3] the worker running the payment (host:pid), for operators tracing a ticket
-- ARGV[4] sale events channel   ARGV[5] ticket seq (publishes "seq:paying:ms")
-- ARGV[6] the slot's lease expiry (ms)   ARGV[7] lease grace beyond the deadline (ms)
-- ARGV[8] how much shorter than the timeout the payment may be (ms) before the lease must be stretched
-- Returns {'paying', deadline_ms} | {'extend'} (stretch the lease first)
--       | {'busy', deadline_ms} (another attempt is paying) | {current status}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tk = redis.call('HMGET', KEYS[1], 'st', 'pd')
if tk[1] == 'paying' then return {'busy', tk[2]} end
if tk[1] ~= 'reserved' then return {tk[1] or 'missing'} end
local wanted = now + tonumber(ARGV[1])
local covered = tonumber(ARGV[6]) - tonumber(ARGV[7])
if wanted - covered > tonumber(ARGV[8]) then return {'extend'} end
local deadline = math.min(wanted, covered)
redis.call('HSET', KEYS[1], 'st', 'paying', 'pd', deadline, 'sh', ARGV[2], 'w', ARGV[3], 'ua', now)
redis.call('PUBLISH', ARGV[4], ARGV[5] .. ':paying:' .. now)
return {'paying', deadline}
