import type { Deps } from "../deps.js";
import { AppError } from "../errors.js";

export interface RateSubject {
  userId: string;
  /** The client's address, as the API decided to trust it. */
  client: string;
}

/**
 * Takes one checkout token from the user's and the client's buckets (those that
 * are on), atomically in one Lua call; throws 429 rate_limited with Retry-After
 * when either is empty. Each user has a bucket of its own, so one user hammering
 * empties only its own and never slows anyone else down.
 */
export async function takeCheckoutToken(deps: Pick<Deps, "redis" | "keys" | "cfg">, who: RateSubject) {
  const { cfg, keys } = deps;
  const buckets: [string, number, number][] = [];
  if (cfg.RATE_USER_PER_S > 0)
    buckets.push([keys.rateBucket("user", who.userId), cfg.RATE_USER_PER_S, cfg.RATE_USER_BURST]);
  if (cfg.RATE_CLIENT_PER_S > 0)
    buckets.push([keys.rateBucket("client", who.client), cfg.RATE_CLIENT_PER_S, cfg.RATE_CLIENT_BURST]);
  if (buckets.length === 0) return;
  const [allowed, waitMs] = (await deps.redis.run(
    "rateLimit",
    buckets.map(([key]) => key),
    buckets.flatMap(([, rate, burst]) => [rate, burst]),
  )) as [number, number];
  if (allowed === 1) return;
  // Retry-After is whole seconds: round up, so a client that obeys it finds a token.
  throw new AppError("rate_limited", "too many checkouts; slow down", Math.max(1, Math.ceil(waitMs / 1000)));
}
