import type { Deps } from "../deps.js";
import { AppError } from "../errors.js";

/** The 429 for an empty bucket; Retry-After in whole seconds, rounded up so a client that obeys it finds a token. */
export function rateLimited(waitMs: number): AppError {
  return new AppError("rate_limited", "too many requests; slow down", Math.max(1, Math.ceil(waitMs / 1000)));
}

/**
 * Takes one checkout token from the client's (address's) bucket when per-client
 * limits are on; throws 429 rate_limited when it is empty. The per-user bucket is
 * taken inside admission (shared/lua/admit.lua), in the same round trip: it lives
 * with the sale's keys, where a checkout's one script call can reach it.
 */
export async function takeClientToken(deps: Pick<Deps, "redis" | "keys" | "cfg">, client: string) {
  const { cfg, keys } = deps;
  if (cfg.RATE_CLIENT_PER_S <= 0) return;
  const [allowed, waitMs] = (await deps.redis.run(
    "rateLimit",
    [keys.rateBucket(client)],
    [cfg.RATE_CLIENT_PER_S, cfg.RATE_CLIENT_BURST],
  )) as [number, number];
  if (allowed !== 1) throw rateLimited(waitMs);
}
