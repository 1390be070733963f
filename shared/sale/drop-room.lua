-- drop-room: removes a batch the opener has queued from the head of the room's way out,
-- only if the head still is that batch. Only an opener holding the room's lock removes,
-- and admit.lua only appends, so a head that differs means another opener (this one's lock
-- ran out meanwhile) queued and removed it already: the caller stops, as it lost the room.
-- KEYS[1] room's way out (LIST, in the sale's slot {s<id>})
-- ARGV[1..n] the batch's entries ("seq:item:user"), in the order they were read
-- Returns n when removed, 0 when the head was not the batch (nothing removed).
local n = #ARGV
local head = redis.call('LRANGE', KEYS[1], 0, n - 1)
if #head ~= n then return 0 end
for i = 1, n do
  if head[i] ~= ARGV[i] then return 0 end
end
redis.call('LTRIM', KEYS[1], n, -1)
return n
