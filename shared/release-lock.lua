-- release-lock: deletes a lock only if its holder still holds it (compare and DEL in one
-- step: a GET then a DEL could delete the lock another process took in between).
-- KEYS[1] the lock (STRING; a sale's lock is in the sale's slot {s<id>})
-- ARGV[1] the holder's token
-- Returns 1 if released, 0 if the lock was not (or no longer) this holder's.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
