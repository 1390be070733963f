-- confirm-paid: the settlement's check of Redis, run under the sale's settlement lock in
-- PostgreSQL just before the batch commits (worker/settle.ts). For a payment just approved
-- it also records the approval (what mark-paid.lua does alone), so an approval costs no
-- round trip of its own: a success that answers after its deadline, or for a ticket another
-- attempt pays, is never recorded and never settles.
-- KEYS[1] sale hash   KEYS[2] the sale's reload marker (saleUnpublished)
-- KEYS[2+i] ticket hash of ticket i
-- ARGV[i] the slot holder of ticket i's approved payment, or '' when an earlier attempt
--   already recorded it (a retried settlement)
-- Returns {sale, verdicts}: sale is 'here', 'absent' (not in Redis and no reload begun: its
-- reload waits for the lock and will read this commit) or 'reloading' (a reload died half-way:
-- nothing of the sale may settle until the next publishes); verdicts, one per ticket:
--   'ok' settle it | 'stale' its payment is unknown to this Redis (lost with an earlier one)
--   | 'late' the approval cannot be recorded (past the deadline, another attempt, not paying)
local n = #KEYS - 2
local verdicts = {}
if redis.call('EXISTS', KEYS[1]) == 0 and redis.call('EXISTS', KEYS[2]) == 1 then
  for i = 1, n do verdicts[i] = 'stale' end
  return {'reloading', verdicts}
end
local sale = redis.call('EXISTS', KEYS[1]) == 1 and 'here' or 'absent'
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 1, n do
  local key, holder = KEYS[2 + i], ARGV[i]
  local tk = redis.call('HMGET', key, 'st', 'pd', 'paid', 'sh')
  if holder == '' then
    -- Recorded before: settle while Redis still shows it paying and paid (or purchased, a retry).
    local known = (tk[1] == 'paying' and tk[3] == '1') or tk[1] == 'purchased'
    verdicts[i] = (known or sale == 'absent') and 'ok' or 'stale'
  elseif tk[1] ~= 'paying' or tk[4] ~= holder then
    verdicts[i] = 'late'
  elseif tk[3] == '1' then
    verdicts[i] = 'ok'
  elseif now > tonumber(tk[2]) then
    verdicts[i] = 'late'
  else
    redis.call('HSET', key, 'paid', '1', 'ua', now)
    verdicts[i] = 'ok'
  end
end
return {sale, verdicts}
