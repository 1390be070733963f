-- renew-lock: extends a lock only while its holder still holds it (compare and PEXPIRE),
-- so a holder whose lock ran out never extends the lock of whoever took it next.
-- KEYS[1] the lock (STRING; a sale's lock is in the sale's slot {s<id>})
-- ARGV[1] the holder's token   ARGV[2] new time to live (ms)
-- Returns 1 if renewed, 0 if the lock is not (or no longer) this holder's.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1
