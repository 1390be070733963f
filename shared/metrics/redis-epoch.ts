import type { Deps } from "../deps.js";
import { rebuiltAt } from "../recovery/watch.js";

/**
 * When the Redis in use was rebuilt from PostgreSQL after losing its data (Unix
 * seconds), or 0 if it never was: its state was built fresh.
 */
export async function redisRebuiltAt(deps: Pick<Deps, "redis" | "keys">): Promise<number> {
  const at = rebuiltAt(await deps.redis.get(deps.keys.epoch));
  return at === null ? 0 : at / 1000;
}
