-- cancel: DELETE /tickets/{id}, the holder leaves the line. A queued ticket ends at once
-- (rejected, reason cancelled) and leaves its item's line and waitlist; a two_step ticket
-- holding a unit behind its code, not yet confirmed by POST /purchase, gives the hold up:
-- it ends the same way and its unit goes to the earliest waiting ticket, or back to stock,
-- exactly as release.lua hands on an expired hold. A ticket whose payment is under way
-- (paying, a direct sale's reservation, a confirmed hold) or final cannot be cancelled.
-- Atomic against reserve.lua, purchase.lua and start-payment.lua: exactly one of a cancel
-- and a reserve, a confirmation or a payment start wins.
-- KEYS[1] sale hash   KEYS[2] item hash   KEYS[3] held   KEYS[4] pending
-- KEYS[5] ticket hash   KEYS[6] item waitlist   KEYS[7] item line   KEYS[8] sale mode (HASH cm, hold)
-- ARGV[1] the ticket key in the id asked for   ARGV[2] the user proven by the request's token ('' with identity off)
-- ARGV[3] ticket key prefix   ARGV[4] final-ticket ttl (s)   ARGV[5] sale events channel   ARGV[6] ticket seq
-- ARGV[7] a fresh random code secret for the waiter handed the unit, if the sale is two_step
-- Publishes "seq:rejected:ms", plus "waiter:reserved:ms" when a unit is handed on.
-- Returns {'cancelled', 'queued'} | {'cancelled', 'handed', waiter seq} | {'cancelled', 'restocked'}
--   | {'again'} (cancelled before: nothing changes) | {'refused', status} (paying, reserved, confirmed, final)
--   | {'unknown'} (no such ticket, another key, or another user's)
-- The ticket and item hashes' short field names are listed in shared/fields.ts.
local now = now_ms() -- shared/scripts/lib/now.lua, prepended at load

-- 'rs' (the 7th): the reason's field before it was named 'why', on tickets written by a
-- release before that (they expire within FINAL_TTL_S, 24 h); drop it after.
local tk = redis.call('HMGET', KEYS[5], 'st', 'u', 'k', 'why', 'cf', 'cd', 'rs')
-- Lua strings are interned, so '~=' compares references: no timing depends on how much
-- of the key matched. The same answer for a wrong key and no ticket at all.
if not tk[1] or tk[3] ~= ARGV[1] then return {'unknown'} end
if ARGV[2] ~= '' and tk[2] ~= ARGV[2] then return {'unknown'} end
local st, user = tk[1], tk[2]
if st == 'rejected' and (tk[4] or tk[7]) == 'cancelled' then return {'again'} end
local two_step = redis.call('HGET', KEYS[8], 'cm') == 'two_step'
if st == 'reserved' then
  -- A direct sale's reservation is paid at once; a confirmed hold is on its way to payment.
  if not two_step or not tk[6] then return {'refused', 'reserved'} end
  if tk[5] == '1' then return {'refused', 'confirmed'} end
elseif st ~= 'queued' then
  return {'refused', st}
end

-- left_line: shared/scripts/lib/left-line.lua, prepended at load.

redis.call('HSET', KEYS[5], 'st', 'rejected', 'why', 'cancelled', 'pos', '', 'ua', now)
redis.call('EXPIRE', KEYS[5], tonumber(ARGV[4]))
redis.call('PUBLISH', ARGV[5], ARGV[6] .. ':rejected:' .. now)

if st == 'queued' then
  -- Counted in line since admission (admit.lua), in the fair-start room too (no line entry yet:
  -- open-room.lua gives a place only to a ticket still queued).
  redis.call('HINCRBY', KEYS[2], 'q', -1)
  redis.call('HINCRBY', KEYS[1], 'q', -1)
  if redis.call('HINCRBY', KEYS[4], user, -1) <= 0 then redis.call('HDEL', KEYS[4], user) end
  redis.call('ZREM', KEYS[6], ARGV[6])
  if redis.call('ZSCORE', KEYS[7], ARGV[6]) then left_line(KEYS[2], KEYS[7], ARGV[6], now) end
  return {'cancelled', 'queued'}
end

-- A held unit given up: as release.lua's 'expire', with the ticket rejected as cancelled.
if redis.call('HINCRBY', KEYS[3], user, -1) <= 0 then redis.call('HDEL', KEYS[3], user) end
-- hand_on: shared/scripts/lib/hand-on.lua, prepended at load.
local waiter = hand_on(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[6], KEYS[7], KEYS[8], ARGV[3], ARGV[7], ARGV[5], now)
if waiter then return {'cancelled', 'handed', waiter} end
return {'cancelled', 'restocked'}
