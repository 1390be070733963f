-- purchase: POST /purchase with a two_step ticket's checkout code confirms its hold, so
-- the ticket's job goes on to pay. Atomic against the hold's expiry (release.lua 'expire').
-- KEYS[1] ticket hash
-- ARGV[1] the code's secret part   ARGV[2] sale events channel   ARGV[3] ticket seq
-- ARGV[4] the ticket key in the code's ticket id (a code names the whole id, key included)
-- ARGV[5] the user proven by the request's token ('' with shopper identity off): only the ticket's may pay it
-- Returns {'confirmed'} | {'again', status} (used before: the same ticket, never a second purchase)
--   | {'unknown'} (no such code) | {'expired'} (the hold ran out, or the unit is no longer held)
local now = now_ms() -- shared/scripts/lib/now.lua, prepended at load
local tk = redis.call('HMGET', KEYS[1], 'st', 'cd', 'ex', 'cf', 'k', 'u')
if not tk[1] or tk[2] ~= ARGV[1] or tk[5] ~= ARGV[4] then return {'unknown'} end
if ARGV[5] ~= '' and tk[6] ~= ARGV[5] then return {'unknown'} end
if tk[4] == '1' then return {'again', tk[1]} end
if tk[1] ~= 'reserved' or now >= tonumber(tk[3]) then return {'expired'} end
redis.call('HSET', KEYS[1], 'cf', '1', 'ua', now)
redis.call('PUBLISH', ARGV[2], ARGV[3] .. ':reserved:' .. now)
return {'confirmed'}
