import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { runMigrations } from "../shared/db/migrate.js";
import { createDeps, type Deps } from "../shared/deps.js";
import { createLogger } from "../shared/logger.js";
import { sleep } from "../shared/time.js";
import { ADMIN, dropAll, testConfig } from "../tools/harness/env.js";
import { envOf, freePort } from "../tools/harness/processes.js";

// The system under measurement, as real processes with production settings, on
// its own Redis prefix and database (made and removed as the test suites do).

const root = fileURLToPath(new URL("..", import.meta.url));
const READY_TIMEOUT_MS = 30_000;

/** The contract's defaults, where the test helpers shorten them for speed. */
const PRODUCTION = {
  NODE_ENV: "production",
  LOG_LEVEL: "warn",
  SCHEDULER_HOURLY: "false",
  PAYMENT_LATENCY_MIN_MS: "10",
  PAYMENT_LATENCY_MAX_MS: "50",
  JOB_LOCK_MS: "30000",
  WAIT_RECHECK_MS: "5000",
  // As `npm start` runs them on one host: workers below the API (shared/process-priority.ts).
  WORKER_NICE: "10",
};

export interface Proc {
  name: string;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** Starts `node --import tsx <script>`; output is kept for a post-mortem. */
export function startProc(
  name: string,
  script: string,
  env: NodeJS.ProcessEnv,
  nodeArgs: string[] = [],
  cwd = root,
): Proc {
  const child = spawn(process.execPath, [...nodeArgs, "--import", "tsx", script], { cwd, env });
  let out = "";
  const keep = (d: Buffer) => {
    // Only the tail matters when something goes wrong.
    out = (out + d.toString()).slice(-20_000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    name,
    child,
    output: () => out,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 20_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

/** Resolves once `probe` is true; rejects if a process dies or time runs out. */
export async function until(what: string, procs: Proc[], probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const dead = procs.find((p) => p.child.exitCode !== null);
    if (dead) throw new Error(`${dead.name} exited (${dead.child.exitCode}):\n${dead.output()}`);
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) {
      const said = procs.map((p) => `${p.name} said:\n${p.output().slice(-2000)}`).join("\n");
      throw new Error(`${what} not ready in ${READY_TIMEOUT_MS} ms\n${said}`);
    }
    await sleep(100);
  }
}

export async function httpOk(url: string): Promise<boolean> {
  const res = await fetch(url);
  await res.arrayBuffer();
  return res.ok;
}

export type System = Awaited<ReturnType<typeof startSystem>>;

async function connectionsNamed(deps: Deps, name: string): Promise<number> {
  const list = (await deps.redis.client("LIST")) as string;
  return list.split("\n").filter((line) => line.includes(` name=${name} `)).length;
}

const adminAuth = `Basic ${Buffer.from(`${ADMIN.user}:${ADMIN.password}`).toString("base64")}`;

/** Creates a one-item sale, buys it and waits for the purchase: true once a worker has done it all. */
async function buysOne(url: string): Promise<boolean> {
  const headers = { authorization: adminAuth, "content-type": "application/json" };
  const sale = await fetch(`${url}/admin/sales`, {
    method: "POST",
    headers,
    body: JSON.stringify({ items: [{ item_id: "bench-probe", stock: 1 }], duration_s: 60 }),
  });
  if (sale.status !== 201) return false;
  const co = await fetch(`${url}/checkout?user_id=bench-probe&id=bench-probe`, { method: "POST" });
  const ticket = (await co.json()) as { ticket_id?: string };
  if (!ticket.ticket_id) return false;
  for (let i = 0; i < 10; i++) {
    const res = await fetch(`${url}/tickets/${ticket.ticket_id}?wait=2000`);
    const { status } = (await res.json()) as { status?: string };
    if (status === "purchased") return true;
    if (status === "rejected" || status === "failed") return false;
  }
  return false;
}

/**
 * api, `workers` workers and a scheduler; close() stops them and removes the
 * prefix and database. `root` runs the processes from another checkout (a
 * snapshot of a commit) while the bench itself runs from this one.
 */
export async function startSystem(
  opts: { workers?: number; env?: Record<string, string>; nodeArgs?: string[]; root?: string } = {},
) {
  const cfg = testConfig({ ...PRODUCTION, ...opts.env });
  // Another checkout migrates its own schema (every process does at start).
  if (!opts.root) await runMigrations(cfg.DATABASE_URL);
  const deps: Deps = await createDeps(cfg, "bench", createLogger("bench", cfg));
  const port = await freePort();
  const env = envOf(cfg, { PORT: String(port), NODE_ENV: "production", LOG_LEVEL: cfg.LOG_LEVEL });
  const nodeArgs = opts.nodeArgs ?? [];
  const workers = opts.workers ?? 1;
  const procs: Proc[] = [];
  const url = `http://127.0.0.1:${port}`;
  const close = async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await dropAll(deps);
  };
  try {
    const cwd = opts.root ?? root;
    procs.push(startProc("api", "api/main.ts", env, nodeArgs, cwd));
    for (let i = 0; i < workers; i++)
      procs.push(startProc(`worker${i}`, "worker/main.ts", env, nodeArgs, cwd));
    procs.push(startProc("scheduler", "scheduler/main.ts", env, nodeArgs, cwd));
    // At LOG_LEVEL=warn nobody says "ready". The API answers /health; each worker and the
    // scheduler hold Redis connections named after their role (shared/redis.ts); and one
    // ticket bought end to end shows the pipeline works. No queue internals: a snapshot
    // run with --root may lay out its keys differently from this checkout.
    await until("api", procs, () => httpOk(`${url}/health`));
    await until(
      "workers",
      procs,
      async () => (await connectionsNamed(deps, `${cfg.REDIS_PREFIX}:worker`)) >= workers,
    );
    await until(
      "scheduler",
      procs,
      async () => (await connectionsNamed(deps, `${cfg.REDIS_PREFIX}:scheduler`)) >= 1,
    );
    await until("the pipeline", procs, () => buysOne(url));
  } catch (err) {
    await close();
    throw err;
  }
  /**
   * Runs exactly `n` worker processes: stops the newest ones (SIGTERM, so their jobs
   * are handed back) or starts more and waits until each holds its Redis connections.
   * The processes stay in `procs`, the same array the bench reads CPU from.
   */
  let started = workers;
  async function setWorkers(n: number) {
    const running = procs.filter((p) => p.name.startsWith("worker"));
    for (const p of running.slice(n).reverse()) {
      await p.stop();
      procs.splice(procs.indexOf(p), 1);
    }
    // A new name for every process: CPU is accounted by name, and a restarted worker starts from zero.
    for (let i = running.length; i < n; i++)
      procs.push(startProc(`worker${started++}`, "worker/main.ts", env, nodeArgs, opts.root ?? root));
    await until(
      "workers",
      procs,
      async () => (await connectionsNamed(deps, `${cfg.REDIS_PREFIX}:worker`)) >= n,
    );
  }
  return { cfg, deps, url, admin: { user: ADMIN.user, password: ADMIN.password }, procs, setWorkers, close };
}

/** The bare Hono app of `baseline-app.ts` as its own process, like the API. */
export async function startBaseline(nodeArgs: string[] = []) {
  const port = await freePort();
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: "production", PORT: String(port) };
  const proc = startProc("baseline", "bench/baseline-app.ts", env, nodeArgs);
  const url = `http://127.0.0.1:${port}`;
  try {
    await until("baseline", [proc], () => httpOk(`${url}/health`));
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return { url, proc, close: () => proc.stop() };
}
