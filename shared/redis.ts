import { readFileSync } from "node:fs";
import { Redis, type RedisOptions } from "ioredis";

// Lua scripts live in shared/lua/*.lua, each loaded once per connection with
// defineCommand (EVALSHA, falling back to EVAL after a Redis restart).
const SCRIPTS = {
  admit: 6,
  reserve: 7,
  startPayment: 2,
  markPaid: 2,
  release: 8,
  finalize: 6,
  acquireSlots: 2,
  paymentStart: 2,
  adjustStock: 6,
  loadItems: -1,
  loadSale: 2,
  rateLimit: -1,
} as const;

export type ScriptName = keyof typeof SCRIPTS;
type Arg = string | number;
export type ScriptResult = (string | number)[] | number;

const fileName = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const sources = Object.fromEntries(
  Object.keys(SCRIPTS).map((name) => [
    name,
    readFileSync(new URL(`./lua/${fileName(name)}.lua`, import.meta.url), "utf8"),
  ]),
) as Record<ScriptName, string>;

export type AppRedis = Redis & {
  run(name: ScriptName, keys: string[], args: Arg[]): Promise<ScriptResult>;
};

export interface RedisClientOptions {
  /** BullMQ workers need blocking commands to wait forever: null retries per request. */
  forWorker?: boolean;
  name?: string;
}

export function createRedis(url: string, opts: RedisClientOptions = {}): AppRedis {
  const options: RedisOptions = {
    connectionName: opts.name,
    maxRetriesPerRequest: opts.forWorker ? null : 3,
    enableAutoPipelining: !opts.forWorker,
    // Keep reconnecting with a short, bounded delay; callers see errors, not hangs.
    retryStrategy: (times) => Math.min(times * 100, 2000),
    lazyConnect: false,
  };
  const redis = new Redis(url, options) as AppRedis;
  // Errors surface on the commands that fail; an unhandled 'error' event would crash the process.
  redis.on("error", () => {});
  for (const [name, numberOfKeys] of Object.entries(SCRIPTS)) {
    if (numberOfKeys >= 0) redis.defineCommand(name, { numberOfKeys, lua: sources[name as ScriptName] });
    else redis.defineCommand(name, { lua: sources[name as ScriptName] });
  }
  redis.run = (name, keys, args) => {
    const fixed = SCRIPTS[name];
    // biome-ignore lint/suspicious/noExplicitAny: commands added by defineCommand are untyped on Redis.
    const fn = (redis as any)[name] as (...a: Arg[]) => Promise<ScriptResult>;
    if (fixed >= 0) {
      if (keys.length !== fixed) throw new Error(`script ${name} takes ${fixed} keys, got ${keys.length}`);
      return fn.call(redis, ...keys, ...args);
    }
    return fn.call(redis, keys.length, ...keys, ...args);
  };
  return redis;
}

/** Resolves when Redis answers a PING; rejects once `ms` have passed without an answer. */
export async function waitForRedis(redis: Redis, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error("redis did not answer");
    // A PING queued while ioredis reconnects can wait far longer than we want: race it.
    const answered = await Promise.race([
      redis.ping().then(
        () => true,
        () => false,
      ),
      new Promise<false>((r) => setTimeout(() => r(false), Math.min(left, 500)).unref()),
    ]);
    if (answered) return;
  }
}
