-- mark-paid: record successful payments as they answer, one call for those answering
-- together, unless a ticket was already failed (a success that answers after its timeout
-- must never become a purchase) or another attempt pays it now (a job left over from
-- before a Redis loss answering for a ticket re-created since). The slots are freed
-- apart: the semaphore is in another cluster slot than the tickets.
-- KEYS[i] ticket hash of ticket i
-- ARGV[i] the slot holder of the attempt whose payment for ticket i succeeded
-- Returns one entry per ticket: {'paid'} | {'late', status} | {'late', 'other'} (another
-- attempt's payment) | {'error', message} (this ticket's hash could not be read)
-- The ticket and item hashes' short field names are listed in shared/fields.ts.
local now = now_ms() -- shared/scripts/lib/now.lua, prepended at load

local function mark(key, holder)
  local tk = redis.call('HMGET', key, 'st', 'pd', 'paid', 'sh')
  if tk[1] ~= 'paying' then return {'late', tk[1] or 'missing'} end
  if tk[4] ~= holder then return {'late', 'other'} end
  if tk[3] == '1' then return {'paid'} end
  if now > tonumber(tk[2]) then return {'late', 'paying'} end
  redis.call('HSET', key, 'paid', '1', 'ua', now)
  return {'paid'}
end

local out = {}
for i = 1, #KEYS do
  -- One ticket's broken hash fails that ticket alone, not the others in the call.
  local ok, res = pcall(mark, KEYS[i], ARGV[i])
  out[i] = ok and res or {'error', type(res) == 'table' and tostring(res.err) or tostring(res)}
end
return out
