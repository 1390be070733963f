import type { Deps } from "../deps.js";

// The epoch marker's shape is shared/recovery/watch.ts's: `<ms>-<random>`, with this
// ending when the rebuild reloaded sales (a fresh, empty Redis gets none).
// test/monitoring.test.ts rebuilds a Redis and reads the result, so a change there shows.
const REBUILT = "-rebuilt";

/**
 * When the Redis in use was rebuilt from PostgreSQL after losing its data (Unix
 * seconds), or 0 if it never was: its state was built fresh.
 */
export async function redisRebuiltAt(deps: Pick<Deps, "redis" | "keys">): Promise<number> {
  const epoch = await deps.redis.get(deps.keys.epoch);
  if (!epoch?.endsWith(REBUILT)) return 0;
  return Number(epoch.split("-")[0]) / 1000;
}
