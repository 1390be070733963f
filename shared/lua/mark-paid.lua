-- mark-paid: record a successful payment, unless the ticket was already failed
-- (a success that answers after its timeout must never become a purchase) or another
-- attempt pays it now (a job left over from before a Redis loss answering for a
-- ticket re-created since). The caller frees the slot afterwards: the semaphore is in
-- another cluster slot than the ticket.
-- KEYS[1] ticket hash
-- ARGV[1] the slot holder of the attempt whose payment succeeded
-- Returns {'paid'} | {'late', status} | {'late', 'other'} (another attempt's payment)
local tk = redis.call('HMGET', KEYS[1], 'st', 'pd', 'paid', 'sh')
if tk[1] ~= 'paying' then return {'late', tk[1] or 'missing'} end
if tk[4] ~= ARGV[1] then return {'late', 'other'} end
if tk[3] == '1' then return {'paid'} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if now > tonumber(tk[2]) then return {'late', 'paying'} end
redis.call('HSET', KEYS[1], 'paid', '1', 'ua', now)
return {'paid'}
