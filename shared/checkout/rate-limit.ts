import type { Deps } from "../deps.js";
import { AppError } from "../errors.js";
import { defineScript } from "../scripts/define.js";

/** The 429 for an empty bucket; Retry-After in whole seconds, rounded up so a client that obeys it finds a token. */
export function rateLimited(waitMs: number): AppError {
  return new AppError("rate_limited", "too many requests; slow down", Math.max(1, Math.ceil(waitMs / 1000)));
}

const rateLimit = defineScript({
  name: "rateLimit",
  lua: new URL("./rate-limit.lua", import.meta.url),
  helpers: ["now_ms"],
  keys: ["bucket"],
  args: ["ratePerS", "burst"],
  decode: (raw) => {
    const [allowed, waitMs] = raw as [number, number];
    return { allowed: allowed === 1, waitMs };
  },
});

/**
 * Takes one checkout token from the client's (address's) bucket when per-client
 * limits are on; throws 429 rate_limited when it is empty. The per-user bucket is
 * taken inside admission (shared/lua/admit.lua), in the same round trip: it lives
 * with the sale's keys, where a checkout's one script call can reach it.
 */
export async function takeClientToken(deps: Pick<Deps, "redis" | "keys" | "cfg">, client: string) {
  const { cfg, keys } = deps;
  if (cfg.RATE_CLIENT_PER_S <= 0) return;
  const { allowed, waitMs } = await rateLimit.run(
    deps.redis,
    { bucket: keys.rateBucket(client) },
    { ratePerS: cfg.RATE_CLIENT_PER_S, burst: cfg.RATE_CLIENT_BURST },
  );
  if (!allowed) throw rateLimited(waitMs);
}
