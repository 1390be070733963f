-- start-payment: reserved tickets of one sale, each holding a payment slot, start paying;
-- one call for the tickets whose slots were granted together. The lease lives in the
-- global slot and the tickets in their sale's, so the two are separate scripts: the caller
-- says until when each lease runs (from acquire-slots.lua, or from extend-lease.lua when
-- that is too soon), and a payment's deadline never passes its lease minus the grace, so a
-- timeout raised meanwhile can never outlive the lease.
-- KEYS[i] ticket hash of ticket i
-- ARGV[1] payment timeout (ms)   ARGV[2] the worker running the payments (host:pid), for operators
-- ARGV[3] sale events channel (publishes "seq:paying:ms" per ticket, in one message)
-- ARGV[4] lease grace beyond the deadline (ms)
-- ARGV[5] how much shorter than the timeout a payment may be (ms) before its lease must be stretched
-- then for each ticket i (base b = 5 + 3 * (i - 1)):
-- ARGV[b+1] slot holder id (kept so a later attempt can free it)   ARGV[b+2] ticket seq
-- ARGV[b+3] the slot's lease expiry (ms)
-- Returns one entry per ticket: {'paying', deadline_ms} | {'extend'} (stretch the lease first)
--       | {'busy', deadline_ms} (another attempt is paying) | {current status} | {'error', message}
-- The ticket and item hashes' short field names are listed in shared/fields.ts.
local now = now_ms() -- shared/scripts/lib/now.lua, prepended at load
local wanted = now + tonumber(ARGV[1])
local grace, shortfall = tonumber(ARGV[4]), tonumber(ARGV[5])
local events = {}
local out = {}
local function start(key, holder, seq, lease)
  local tk = redis.call('HMGET', key, 'st', 'pd')
  local covered = lease - grace
  if tk[1] == 'paying' then return {'busy', tk[2]} end
  if tk[1] ~= 'reserved' then return {tk[1] or 'missing'} end
  if wanted - covered > shortfall then return {'extend'} end
  local deadline = math.min(wanted, covered)
  redis.call('HSET', key, 'st', 'paying', 'pd', deadline, 'sh', holder, 'w', ARGV[2], 'ua', now)
  table.insert(events, seq .. ':paying:' .. now)
  return {'paying', deadline}
end

for i = 1, #KEYS do
  local b = 5 + 3 * (i - 1)
  -- One ticket's broken hash fails that ticket alone.
  local ok, res = pcall(start, KEYS[i], ARGV[b + 1], ARGV[b + 2], tonumber(ARGV[b + 3]))
  out[i] = ok and res or {'error', type(res) == 'table' and tostring(res.err) or tostring(res)}
end
if #events > 0 then redis.call('PUBLISH', ARGV[3], table.concat(events, ' ')) end
return out
