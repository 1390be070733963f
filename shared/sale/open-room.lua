-- open-room: at a sale's opening, put the fair-start room in line in a shuffled order.
-- The caller drew the order (a uniformly random permutation from crypto randomness) from
-- the room as it read it, and wrote it to KEYS[5] (a list: a room of 100,000 is too many
-- arguments for one call). The room is closed by then (admit.lua takes no room ticket
-- after the opening), so a mismatch means the caller read it too early: it draws again.
-- KEYS[1] sale hash   KEYS[2] sale mode (HASH, field fs)   KEYS[3] room (LIST)   KEYS[4] room's way out (LIST)
-- KEYS[5] the drawn order (LIST of the room's entries "seq:item:user"; deleted here)
-- ARGV[1] sale events channel   ARGV[2] ticket key prefix   ARGV[3] item line key prefix
-- The i-th shuffled ticket takes the i-th smallest seq of the room as its place in line
-- (field ord, the score in the item's line and waitlist): the room keeps the places it
-- had as a whole, ahead of every later ticket, and only the order inside it is drawn.
-- Publishes "seq:queued:ms" for every ticket given a place, a thousand to a message.
-- Returns {'shuffled', n} | {'done', fs} (no room, or already shuffled) | {'early', starts_at} | {'changed'}
-- The ticket and item hashes' short field names are listed in shared/fields.ts.
local now = now_ms() -- shared/scripts/lib/now.lua, prepended at load
local drawn = redis.call('LRANGE', KEYS[5], 0, -1)
redis.call('DEL', KEYS[5])
local fs = redis.call('HGET', KEYS[2], 'fs')
if fs ~= 'room' then return {'done', fs or ''} end
local sa = tonumber(redis.call('HGET', KEYS[1], 'sa'))
if now < sa then return {'early', sa} end

local room = redis.call('LRANGE', KEYS[3], 0, -1)
local n = #drawn
if #room ~= n then return {'changed'} end
local left = {}
for _, e in ipairs(room) do left[e] = true end
for _, e in ipairs(drawn) do
  if not left[e] then return {'changed'} end
  left[e] = nil
end

local function parse(e)
  local a = string.find(e, ':', 1, true)
  local b = string.find(e, ':', a + 1, true)
  return string.sub(e, 1, a - 1), string.sub(e, a + 1, b - 1)
end

local events = {}
local function announce(seq)
  table.insert(events, seq .. ':queued:' .. now)
  if #events >= 1000 then
    redis.call('PUBLISH', ARGV[1], table.concat(events, ' '))
    events = {}
  end
end

for i = 1, n do
  local seq, item = parse(drawn[i])
  local ord = parse(room[i])
  -- Only a ticket still queued takes a place (never a stub hash for one that is gone).
  if redis.call('HGET', ARGV[2] .. seq, 'st') == 'queued' then
    redis.call('HSET', ARGV[2] .. seq, 'ord', ord)
    redis.call('ZADD', ARGV[3] .. item, ord, seq)
    announce(seq)
  end
end
-- Tickets accepted since the opening wait on the way out already; they join the line now,
-- behind the room (their seqs are above every room ticket's).
for _, e in ipairs(redis.call('LRANGE', KEYS[4], 0, -1)) do
  local seq, item = parse(e)
  redis.call('ZADD', ARGV[3] .. item, seq, seq)
  announce(seq)
end
-- The shuffled room goes ahead of them on the way out.
for i = n, 1, -1 do redis.call('LPUSH', KEYS[4], drawn[i]) end
redis.call('DEL', KEYS[3])
redis.call('HSET', KEYS[2], 'fs', 'draining')
if #events > 0 then redis.call('PUBLISH', ARGV[1], table.concat(events, ' ')) end
return {'shuffled', n}
