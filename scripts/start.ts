import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { loadConfig, processEnv } from "../shared/config.js";
import { runMigrations } from "../shared/db/migrate.js";
import { closeDeps, createDeps, StartupError } from "../shared/deps.js";
import type { LocalServer } from "./local/server.js";
import { ensureStores, stopStores } from "./local/stores.js";

// `npm start`: make sure Redis and PostgreSQL answer (starting them here when none does and
// none is configured), check the config and the stores once, migrate, then run api, worker
// and scheduler as three processes (each can also run alone, many times). Ctrl-C stops the
// three, then the stores it started.

const ROLES = ["api", "worker", "scheduler"] as const;
// From the sources through tsx (npm start), or compiled (node dist/scripts/start.js): the
// roles run the same way as this file does, so a build never runs TypeScript.
const compiled = !import.meta.url.endsWith(".ts");
const root = fileURLToPath(new URL("..", import.meta.url));
const checkout = fileURLToPath(new URL(compiled ? "../.." : "..", import.meta.url));
const roleArgs = (role: string) => (compiled ? [`${role}/main.js`] : ["--import", "tsx", `${role}/main.ts`]);
// All three share this host: the worker yields the CPU to the API, so a burst waits in
// the queue rather than in the answers (WORKER_NICE, shared/process-priority.ts; 0 turns it off).
const WORKER_NICE = "10";

const say = (line: string) => process.stdout.write(`start: ${line}\n`);
const env = processEnv();
const cfg = loadConfig();
const stores: LocalServer[] = [];
const children = new Map<string, { child: ChildProcess; exited: Promise<void> }>();
let stopping = false;

async function stopAll(code: number) {
  if (stopping) return;
  stopping = true;
  for (const { child } of children.values()) if (child.exitCode === null) child.kill("SIGTERM");
  await Promise.all([...children.values()].map((c) => c.exited));
  if (stores.length > 0) {
    await stopStores(stores);
    say(`stopped ${stores.map((s) => s.name).join(" and ")}`);
  }
  process.exit(code);
}
// From the first moment: a Ctrl-C while a store starts stops it too.
process.on("SIGTERM", () => void stopAll(0));
process.on("SIGINT", () => void stopAll(0));

try {
  await ensureStores(
    {
      redisUrl: cfg.REDIS_URL,
      databaseUrl: cfg.DATABASE_URL,
      redisGiven: env.REDIS_CLUSTER_NODES ? "REDIS_CLUSTER_NODES" : env.REDIS_URL ? "REDIS_URL" : null,
      databaseGiven: env.DATABASE_URL ? "DATABASE_URL" : null,
    },
    checkout,
    stores,
    say,
  );
  await closeDeps(await createDeps(cfg, "start"));
  await runMigrations(cfg.DATABASE_URL);
} catch (err) {
  const msg =
    err instanceof StartupError ? err.message : `start: ${err instanceof Error ? err.message : err}`;
  process.stderr.write(`${msg}\n`);
  await stopAll(1);
}

if (!stopping) {
  for (const role of ROLES) {
    const child = spawn(process.execPath, roleArgs(role), {
      cwd: root,
      stdio: "inherit",
      env: role === "worker" ? { ...env, WORKER_NICE: env.WORKER_NICE || WORKER_NICE } : env,
    });
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    children.set(role, { child, exited });
    child.on("exit", (code, signal) => {
      if (stopping) return;
      process.stderr.write(`${role} exited (${signal ?? code}); stopping the others\n`);
      void stopAll(code || 1);
    });
  }
  say(`starting api, worker and scheduler; the API on http://localhost:${cfg.PORT}; Ctrl-C stops them`);
}
