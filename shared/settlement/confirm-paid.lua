-- confirm-paid: the settlement's check of Redis, run under the sale's settlement lock in
-- PostgreSQL just before the batch commits (shared/settlement/settle.ts): does this Redis still
-- know each ticket's payment as recorded (mark-paid.lua)?
-- KEYS[1] sale hash   KEYS[2] the sale's reload marker (saleUnpublished)
-- KEYS[2+i] ticket hash of ticket i
-- Returns {sale, verdicts}: sale is 'here', 'absent' (not in Redis and no reload begun: its
-- reload waits for the lock and will read this commit) or 'reloading' (a reload died half-way:
-- nothing of the sale may settle until the next publishes); verdicts, one per ticket:
--   'ok' settle it | 'stale' its payment is unknown to this Redis (lost with an earlier one)
local n = #KEYS - 2
local verdicts = {}
local here = redis.call('EXISTS', KEYS[1]) == 1
if not here and redis.call('EXISTS', KEYS[2]) == 1 then
  for i = 1, n do verdicts[i] = 'stale' end
  return {'reloading', verdicts}
end
for i = 1, n do
  local tk = redis.call('HMGET', KEYS[2 + i], 'st', 'paid')
  -- Paying and paid, or purchased (a retried settlement).
  local known = (tk[1] == 'paying' and tk[2] == '1') or tk[1] == 'purchased'
  verdicts[i] = (known or not here) and 'ok' or 'stale'
end
return {here and 'here' or 'absent', verdicts}
