-- mark-paid: record a successful payment, unless the ticket was already failed
-- (a success that answers after its timeout must never become a purchase).
-- KEYS[1] ticket hash   KEYS[2] slot semaphore ZSET
-- ARGV[1] slot holder id
-- Returns {'paid'} | {'late', status}
local tk = redis.call('HMGET', KEYS[1], 'st', 'pd', 'paid')
redis.call('ZREM', KEYS[2], ARGV[1])
if tk[1] ~= 'paying' then return {'late', tk[1] or 'missing'} end
if tk[3] == '1' then return {'paid'} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if now > tonumber(tk[2]) then return {'late', 'paying'} end
redis.call('HSET', KEYS[1], 'paid', '1', 'ua', now)
return {'paid'}
