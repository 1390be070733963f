-- take-room: the next tickets of a shuffled room (then those accepted behind it), in order,
-- for the opener to queue. Once none is left the room is done and checkout queues as usual:
-- admit.lua reads fs in the same slot, so no ticket slips in between.
-- KEYS[1] sale mode (HASH, field fs)   KEYS[2] room's way out (LIST)
-- ARGV[1] how many to take
-- Returns the entries taken ("seq:item:user"); none once the room is done.
if redis.call('HGET', KEYS[1], 'fs') ~= 'draining' then return {} end
local taken = redis.call('LPOP', KEYS[2], tonumber(ARGV[1]))
if not taken then
  redis.call('HSET', KEYS[1], 'fs', 'open')
  return {}
end
return taken
