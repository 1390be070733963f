import type { Config } from "./config.js";
import { createDb, type Db } from "./db/client.js";
import { ensureDatabase } from "./db/migrate.js";
import { type Keys, makeKeys } from "./keys.js";
import { createLogger, type Logger } from "./logger.js";
import { type AppRedis, createRedis, waitForRedis } from "./redis.js";

/** What domain operations need. Built once per process (or per test suite). */
export interface Deps {
  cfg: Config;
  redis: AppRedis;
  db: Db;
  keys: Keys;
  log: Logger;
}

export class StartupError extends Error {}

const hostOf = (url: string) => {
  const u = new URL(url);
  return `${u.hostname}:${u.port || (u.protocol.startsWith("redis") ? 6379 : 5432)}`;
};

/** Connects to Redis and PostgreSQL; a store that cannot be reached is a StartupError with one line. */
export async function createDeps(
  cfg: Config,
  name: string,
  log?: Logger,
  opts: { failFast?: boolean } = {},
): Promise<Deps> {
  const redis = createRedis(cfg, { name: `${cfg.REDIS_PREFIX}:${name}`, failFast: opts.failFast });
  try {
    await waitForRedis(redis, 2000);
  } catch {
    redis.disconnect();
    throw new StartupError(
      `cannot reach Redis at ${hostOf(cfg.REDIS_URL)} (REDIS_URL); start it with: npm run services`,
    );
  }
  const db = createDb(cfg.DATABASE_URL, cfg.DATABASE_POOL);
  try {
    // A fresh machine has the server but not our database yet: create it.
    await ensureDatabase(cfg.DATABASE_URL);
    await db.client`select 1`;
  } catch (err) {
    redis.disconnect();
    await db.client.end({ timeout: 1 }).catch(() => {});
    const e = err as { code?: string; message?: string };
    const why = e.code === "28P01" || e.code === "28000" ? "authentication failed" : "cannot connect";
    throw new StartupError(
      `cannot reach PostgreSQL at ${hostOf(cfg.DATABASE_URL)} (DATABASE_URL: ${why}); start it with: npm run services`,
    );
  }
  return { cfg, redis, db, keys: makeKeys(cfg.REDIS_PREFIX), log: log ?? createLogger(name, cfg) };
}

export async function closeDeps(deps: Deps): Promise<void> {
  await Promise.allSettled([deps.redis.quit(), deps.db.client.end({ timeout: 2 })]);
}
