import type { Deps } from "./deps.js";

// A store that does not answer within this long counts as down.
const PROBE_MS = 1000;

export type StoreState = "ok" | "down";

const probe = (p: Promise<unknown>) =>
  Promise.race([
    p.then(() => "ok" as const),
    new Promise<"down">((r) => setTimeout(() => r("down"), PROBE_MS).unref()),
  ]).catch(() => "down" as const);

/** Whether Redis and PostgreSQL answer, asked at once: one PING, one `select 1`. */
export async function probeStores(
  deps: Pick<Deps, "redis" | "db">,
): Promise<{ redis: StoreState; postgres: StoreState }> {
  const [redis, postgres] = await Promise.all([probe(deps.redis.ping()), probe(deps.db.client`select 1`)]);
  return { redis, postgres };
}
