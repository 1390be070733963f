-- release: a payment did not go through. The ticket fails and its unit goes to the
-- earliest waiting ticket for the item, or back to stock. The caller frees the payment
-- slot afterwards: the semaphore is in another cluster slot than the sale's keys.
-- KEYS[1] sale hash   KEYS[2] item hash   KEYS[3] held   KEYS[4] pending
-- KEYS[5] ticket hash   KEYS[6] item waitlist   KEYS[7] item line   KEYS[8] sale mode (HASH cm, hold)
-- ARGV[1] reason (kept as the ticket's why)   ARGV[2] ticket key prefix   ARGV[3] the failing attempt's slot holder ('' = none)   ARGV[4] final-ticket ttl (s)
-- ARGV[5] 'fail'   (payment did not go through: ticket failed, unit handed on),
--         'refuse' (PostgreSQL refused this buyer, e.g. over the limit: ticket rejected, unit handed on), or
--         'void'   (PostgreSQL says the unit does not exist: ticket rejected, unit leaves the stock)
--         'expire' (a two_step hold not confirmed by its expiry: ticket failed, unit handed on)
-- ARGV[6] sale events channel   ARGV[7] ticket seq
-- ARGV[8] a fresh random code secret for the waiter handed the unit, if the sale is two_step
-- Publishes "seq:failed:ms" / "seq:rejected:ms", plus "waiter:reserved:ms" when a unit is handed on.
-- Returns {'handed', waiter seq} | {'restocked'} | {'voided'} | {'noop', status}
--   ('expire' only: {'noop', 'confirmed'} once POST /purchase came first, {'noop', 'early', expires_at})
--   ('fail' with reason 'payment_timeout' on a paying ticket: {'noop', 'early', pd} while Redis's
--    clock has not reached the payment's deadline: only Redis's clock decides a payment timed out)
-- The ticket and item hashes' short field names are listed in shared/fields.ts.
local now = now_ms() -- shared/scripts/lib/now.lua, prepended at load

-- left_line: shared/scripts/lib/left-line.lua, prepended at load.

local mode = ARGV[5]
local void = mode == 'void'
local tk = redis.call('HMGET', KEYS[5], 'st', 'u', 'paid', 'cf', 'ex', 'sh', 'pd')
if tk[1] ~= 'paying' and tk[1] ~= 'reserved' then return {'noop', tk[1] or 'missing'} end
-- Only the attempt paying may fail it: a job left over from before a Redis loss must not
-- end the ticket re-created since, whether its new attempt is paying or has only reserved
-- ('' = a caller without a slot; every attempt that paid has one).
if mode == 'fail' and ARGV[3] ~= '' and (tk[1] ~= 'paying' or tk[6] ~= ARGV[3]) then return {'noop', 'other'} end
if mode == 'expire' then
  -- The purchase and the expiry race here, atomically: whichever comes first wins.
  if tk[1] ~= 'reserved' or tk[4] == '1' then return {'noop', 'confirmed'} end
  if now < tonumber(tk[5] or '0') then return {'noop', 'early', tk[5]} end
end
-- A paid ticket can only be settled, or refused by PostgreSQL; never failed.
if tk[3] == '1' and mode == 'fail' then return {'noop', 'paid'} end
-- A payment times out by Redis's clock (start-payment.lua set pd from it), never by a
-- worker's: one whose clock runs ahead is told to come back. Checked before any write.
if mode == 'fail' and ARGV[1] == 'payment_timeout' and tk[1] == 'paying' and now < (tonumber(tk[7]) or 0) then
  return {'noop', 'early', tk[7]}
end
local final = (mode == 'fail' or mode == 'expire') and 'failed' or 'rejected'
redis.call('HSET', KEYS[5], 'st', final, 'why', ARGV[1], 'ua', now)
redis.call('PUBLISH', ARGV[6], ARGV[7] .. ':' .. final .. ':' .. now)
redis.call('EXPIRE', KEYS[5], tonumber(ARGV[4]))
if redis.call('HINCRBY', KEYS[3], tk[2], -1) <= 0 then redis.call('HDEL', KEYS[3], tk[2]) end
if void then
  for _, k in ipairs({KEYS[2], KEYS[1]}) do
    redis.call('HINCRBY', k, 'rs', -1)
    redis.call('HINCRBY', k, 'tot', -1)
  end
  return {'voided'}
end

-- hand_on: shared/scripts/lib/hand-on.lua, prepended at load.
local waiter = hand_on(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[6], KEYS[7], KEYS[8], ARGV[2], ARGV[8], ARGV[6], now)
if waiter then return {'handed', waiter} end
return {'restocked'}
