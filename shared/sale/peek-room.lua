-- peek-room: the next tickets of a shuffled room (then those accepted behind it), in order,
-- for the opener to queue. They stay on the way out until drop-room.lua removes them once
-- their jobs exist: an opener that dies or fails to queue loses none, and the next opener
-- queues them again, in the same order (a job's id is its ticket's, so twice is once).
-- Once none is left the room is done and checkout queues as usual: admit.lua reads fs in
-- the same slot, so no ticket slips in between.
-- KEYS[1] sale mode (HASH, field fs)   KEYS[2] room's way out (LIST)   (both in the sale's slot {s<id>})
-- ARGV[1] how many to read
-- Returns the first ARGV[1] entries ("seq:item:user"), not removed; none once the room is done
-- (fs is then set to 'open').
if redis.call('HGET', KEYS[1], 'fs') ~= 'draining' then return {} end
local batch = redis.call('LRANGE', KEYS[2], 0, tonumber(ARGV[1]) - 1)
if #batch == 0 then
  redis.call('HSET', KEYS[1], 'fs', 'open')
end
return batch
