-- publish-sale: publish a sale whose items are all loaded. Written last, so a sale
-- hash that exists always has all its items. The caller then lists it on the timeline,
-- which lives in another cluster slot.
-- KEYS[1] sale hash   KEYS[2] pending (user -> queued tickets)   KEYS[3] the reload's marker (deleted)
-- ARGV[1] sale id   ARGV[2] starts_at (ms)   ARGV[3] ends_at (ms)   ARGV[4] user limit
-- ARGV[5] item count   ARGV[6] total stock   ARGV[7] units sold
-- ARGV[8] first ticket sequence: above every ticket id a lost Redis may have handed out
-- The sale's queued total is counted here from what readmit.lua re-created (the pending
-- counts: before publishing, no checkout can queue a ticket), not taken from the caller,
-- whose list misses the tickets a loader that died before publishing had re-created.
-- Returns 1 if published now, 0 if it already was.
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local tot, sd = tonumber(ARGV[6]), tonumber(ARGV[7])
local q = 0
for _, n in ipairs(redis.call('HVALS', KEYS[2])) do q = q + tonumber(n) end
redis.call('HSET', KEYS[1], 'st', 'open', 'sa', ARGV[2], 'ea', ARGV[3], 'ul', ARGV[4], 'n', ARGV[5],
  'tot', tot, 'av', tot - sd, 'rs', 0, 'sd', sd, 'q', q, 'tseq', ARGV[8])
redis.call('DEL', KEYS[3])
return 1
