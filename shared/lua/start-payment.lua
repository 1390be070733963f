-- start-payment: a reserved ticket that now holds a payment slot starts paying.
-- KEYS[1] ticket hash
-- ARGV[1] payment timeout (ms)   ARGV[2] slot holder id (kept so a later attempt can free it)
-- ARGV[3] the worker running the payment (host:pid), for operators tracing a ticket
-- Returns {'paying', deadline_ms} | {current status}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local st = redis.call('HGET', KEYS[1], 'st')
if st ~= 'reserved' then return {st or 'missing'} end
local deadline = now + tonumber(ARGV[1])
redis.call('HSET', KEYS[1], 'st', 'paying', 'pd', deadline, 'sh', ARGV[2], 'w', ARGV[3], 'ua', now)
return {'paying', deadline}
