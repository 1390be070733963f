-- readmit: put back tickets that PostgreSQL recorded as accepted but Redis lost
-- (it restarted empty), queued again in ticket order, before their sale is published.
-- A ticket Redis still has, or whose item is not loaded, is left alone.
-- KEYS[1] pending (user -> queued tickets)   KEYS[2] sale mode (HASH cm: a two_step sale's tickets carry two=1)
-- ARGV[1] ticket key prefix   ARGV[2] item key prefix   ARGV[3] line key prefix
-- ARGV[4] users' ticket index key prefix (ZSET per user, as admit.lua keeps it)
-- ARGV[5..] groups of five: ticket seq, user id, item id, accepted at (ms), the ticket's key (field k)
-- Returns the seqs that need a job: those re-created now, and those found queued. Before
-- the sale is published no checkout can queue a ticket, so a queued one was re-created
-- by a loader that died before publishing, and its job may never have been added.
-- The ticket and item hashes' short field names are listed in shared/fields.ts.
local now = now_ms() -- shared/scripts/lib/now.lua, prepended at load
local two = redis.call('HGET', KEYS[2], 'cm') == 'two_step'
local done = {}
for i = 5, #ARGV, 5 do
  local seq, user, item, ca, key = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local tkey, ikey = ARGV[1] .. seq, ARGV[2] .. item
  if redis.call('EXISTS', ikey) == 1 then
    local st = redis.call('HGET', tkey, 'st')
    if not st then
      local pos = redis.call('HINCRBY', ikey, 'q', 1)
      redis.call('HINCRBY', KEYS[1], user, 1)
      redis.call('HSET', tkey, 'st', 'queued', 'u', user, 'i', item, 'pos', pos, 'ca', ca, 'ua', now, 'k', key)
      if two then redis.call('HSET', tkey, 'two', '1') end
      redis.call('ZADD', ARGV[3] .. item, seq, seq)
      redis.call('ZADD', ARGV[4] .. user, ca, seq)
      table.insert(done, seq)
    elseif st == 'queued' then
      table.insert(done, seq)
    end
  end
end
return done
