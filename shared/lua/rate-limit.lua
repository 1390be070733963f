-- rate-limit: token buckets, all or nothing (today one: the client address's; the user's is in admit.lua). A request takes one token from every
-- bucket it counts against (its user's, its client's), or from none when any of
-- them is empty, so a refused request costs nothing and the clock alone refills.
-- KEYS[1..n] bucket hashes (t = tokens left, ts = when they were counted, ms)
-- ARGV[2i-1], ARGV[2i] refill rate (tokens per second, > 0) and burst (bucket size) of KEYS[i]
-- Returns {1, 0} when allowed, or {0, ms until every empty bucket holds a token again}.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local have = {}
local wait = 0
for i, key in ipairs(KEYS) do
  local rate, burst = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  local b = redis.call('HMGET', key, 't', 'ts')
  local tokens = burst
  if b[1] then
    -- max(0, ...): a clock step backwards must not drain the bucket.
    tokens = math.min(burst, tonumber(b[1]) + math.max(0, now - tonumber(b[2])) * rate / 1000)
  end
  have[i] = tokens
  if tokens < 1 then wait = math.max(wait, math.ceil((1 - tokens) * 1000 / rate)) end
end
if wait > 0 then return {0, wait} end

for i, key in ipairs(KEYS) do
  local rate, burst = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  redis.call('HSET', key, 't', have[i] - 1, 'ts', now)
  -- Gone once it would be full again: an idle user or client costs no memory.
  redis.call('PEXPIRE', key, math.ceil(burst * 1000 / rate) + 1000)
end
return {1, 0}
