-- rate-limit: one token bucket (a client address's; the per-user bucket is taken
-- inside admit.lua, in the checkout's one call). A request takes one token, or none
-- when the bucket is empty, so a refused request costs nothing and the clock alone refills.
-- KEYS[1] bucket hash (t = tokens left, ts = when they were counted, ms)
-- ARGV[1] refill rate (tokens per second, > 0)   ARGV[2] burst (bucket size)
-- Returns {1, 0} when allowed, or {0, ms until the bucket holds a token again}.
local now = now_ms() -- shared/scripts/lib/now.lua, prepended at load
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local b = redis.call('HMGET', KEYS[1], 't', 'ts')
local tokens = burst
-- max(0, ...): a clock step backwards must not drain the bucket.
if b[1] then tokens = math.min(burst, tonumber(b[1]) + math.max(0, now - tonumber(b[2])) * rate / 1000) end
if tokens < 1 then return {0, math.ceil((1 - tokens) * 1000 / rate)} end
redis.call('HSET', KEYS[1], 't', tokens - 1, 'ts', now)
-- Gone once it would be full again: an idle client costs no memory.
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return {1, 0}
