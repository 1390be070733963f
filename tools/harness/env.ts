import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { startApi } from "../../api/start.js";
import { type Config, parseConfig, processEnv } from "../../shared/config.js";
import { runMigrations } from "../../shared/db/migrate.js";
import { closeDeps, createDeps, type Deps } from "../../shared/deps.js";
import { createLogger } from "../../shared/logger.js";
import { readSettings } from "../../shared/payment/settings.js";
import { watchRedis } from "../../shared/recovery/watch.js";
import { scanKeys } from "../../shared/redis.js";
import { sleep } from "../../shared/time.js";
import { startWorker } from "../../worker/start.js";
import { envOf, freePort, type Role, startRole } from "./processes.js";
import { testStores } from "./stores.js";

export type TestEnv = Awaited<ReturnType<typeof createTestEnv>>;
export type HttpClient = ReturnType<typeof httpClient>;

export const ADMIN = { user: "admin", password: "test-secret" };
const adminAuth = `Basic ${Buffer.from(`${ADMIN.user}:${ADMIN.password}`).toString("base64")}`;

/** The config a suite runs with: the machine's stores, its own Redis prefix and database. */
export function testConfig(overrides: Record<string, string> = {}): Config {
  const stores = testStores(processEnv());
  const tag = randomBytes(4).toString("hex");
  const base = new URL(stores.databaseUrl);
  base.pathname = `/fs_test_${tag}`;
  return parseConfig({
    REDIS_URL: stores.redisUrl,
    DATABASE_URL: base.toString(),
    REDIS_PREFIX: `t${tag}`,
    ADMIN_USER: ADMIN.user,
    ADMIN_PASSWORD: ADMIN.password,
    LOG_LEVEL: "warn",
    SCHEDULER_HOURLY: "false",
    PAYMENT_LATENCY_MIN_MS: "0",
    PAYMENT_LATENCY_MAX_MS: "2",
    JOB_LOCK_MS: "10000",
    WAIT_RECHECK_MS: "500",
    // An in-process API shares its event loop with the suite's own crowd (a thousand clients
    // in test/big-sale): on a loaded machine a connection's headers can wait there longer than
    // the production 5 s, and it would be cut off. test/connections.test.ts sets its own.
    HEADERS_TIMEOUT_MS: "30000",
    REQUEST_TIMEOUT_MS: "60000",
    ...overrides,
  });
}

/**
 * A suite's own system: a fresh database and Redis prefix, an API on a free
 * port and `workers` worker instances in this process. Close removes it all.
 */
export async function createTestEnv(opts: { env?: Record<string, string>; workers?: number } = {}) {
  const cfg = testConfig(opts.env);
  await runMigrations(cfg.DATABASE_URL);
  const deps = await createDeps(cfg, "test", createLogger("test", cfg));
  // What every process does at start (shared/process.ts): mark this Redis as built, so
  // an unknown item is a 404, not "Redis is being rebuilt".
  const watcher = watchRedis(deps);
  await watcher.ready;
  await watcher.stop();
  const api = await startApi(deps, 0);
  const workers: Awaited<ReturnType<typeof startWorker>>[] = [];
  for (let i = 0; i < (opts.workers ?? 1); i++) workers.push(await startWorker(deps));

  const http = httpClient(api.url);
  return {
    cfg,
    deps,
    api,
    workers,
    ...http,
    /** Changes the payment settings and waits until every worker here follows them. */
    async setPayments(body: unknown) {
      const applied = (await http.setPayments(body)) as Record<string, unknown>;
      const wanted = JSON.stringify(await readSettings(deps));
      while (!workers.every((w) => JSON.stringify(w.settings.get()) === wanted)) await sleep(20);
      return applied;
    },
    async close() {
      await api.close();
      for (const w of workers) await w.close();
      await dropAll(deps);
    },
  };
}

/** Removes a suite's Redis keys and database. */
export async function dropAll(deps: Deps) {
  const { redis, keys, cfg } = deps;
  for (const pattern of [`${keys.prefix}:*`, `${keys.bull}*`]) {
    // One key per UNLINK: in a cluster the keys found live in many slots.
    for await (const found of scanKeys(redis, pattern)) await Promise.all(found.map((k) => redis.unlink(k)));
  }
  await closeDeps(deps);
  const admin = new URL(cfg.DATABASE_URL);
  const name = admin.pathname.slice(1);
  admin.pathname = "/postgres";
  const sql = postgres(admin.toString(), { max: 1, onnotice: () => {} });
  await sql.unsafe(`drop database if exists "${name}" with (force)`);
  await sql.end();
}

/** HTTP helpers for a running API. */
export function httpClient(url: string) {
  const request = (path: string, init: RequestInit & { admin?: boolean; json?: unknown } = {}) => {
    const headers = new Headers(init.headers);
    if (init.admin) headers.set("authorization", adminAuth);
    let body = init.body;
    if (init.json !== undefined) {
      headers.set("content-type", "application/json");
      body = JSON.stringify(init.json);
    }
    return fetch(`${url}${path}`, { ...init, headers, body });
  };
  return {
    url,
    request,
    async json<T = Record<string, unknown>>(path: string, init?: Parameters<typeof request>[1]) {
      const res = await request(path, init);
      return { status: res.status, headers: res.headers, body: (await res.json()) as T };
    },
    async createSale(body: unknown): Promise<string> {
      const res = await request("/admin/sales", { method: "POST", admin: true, json: body });
      if (res.status !== 201) throw new Error(`create sale: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { sale_id: string }).sale_id;
    },
    async setPayments(body: unknown) {
      const res = await request("/admin/payments", { method: "PUT", admin: true, json: body });
      if (res.status !== 200) throw new Error(`set payments: ${res.status} ${await res.text()}`);
      return res.json();
    },
  };
}

/**
 * A suite's own system run as real processes (api and workers), with the
 * stores' clients in this process for checking. For load, so the crowd and the
 * system don't share one event loop.
 */
export async function createProcessEnv(opts: { env?: Record<string, string>; workers?: number } = {}) {
  const cfg = testConfig(opts.env);
  await runMigrations(cfg.DATABASE_URL);
  const deps = await createDeps(cfg, "test", createLogger("test", cfg));
  const port = await freePort();
  const roles: Role[] = [];
  try {
    roles.push(await startRole("api", envOf(cfg, { PORT: String(port) }), /api listening/));
    for (let i = 0; i < (opts.workers ?? 1); i++)
      roles.push(await startRole("worker", envOf(cfg), /worker ready/));
  } catch (err) {
    await Promise.all(roles.map((r) => r.kill("SIGKILL")));
    await dropAll(deps);
    throw err;
  }
  return {
    cfg,
    deps,
    roles,
    ...httpClient(`http://127.0.0.1:${port}`),
    async startWorker() {
      const w = await startRole("worker", envOf(cfg), /worker ready/);
      roles.push(w);
      return w;
    },
    async close() {
      await Promise.all(roles.map((r) => r.kill("SIGTERM")));
      await dropAll(deps);
    },
  };
}
