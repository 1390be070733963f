import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { loadConfig, processEnv } from "../shared/config.js";
import { runMigrations } from "../shared/db/migrate.js";
import { closeDeps, createDeps, StartupError } from "../shared/deps.js";

// `npm start`: check the config and the stores once, migrate, then run api,
// worker and scheduler as three processes (each can also run alone, many times).

const ROLES = ["api", "worker", "scheduler"] as const;
const root = fileURLToPath(new URL("..", import.meta.url));
// All three share this host: the worker yields the CPU to the API, so a burst waits in
// the queue rather than in the answers (WORKER_NICE, shared/process-priority.ts; 0 turns it off).
const WORKER_NICE = "10";

const cfg = loadConfig();
try {
  await closeDeps(await createDeps(cfg, "start"));
  await runMigrations(cfg.DATABASE_URL);
} catch (err) {
  process.stderr.write(`${err instanceof StartupError ? err.message : `start: ${String(err)}`}\n`);
  process.exit(1);
}

const children = new Map<string, ChildProcess>();
let stopping = false;

function stopAll(code: number) {
  if (stopping) return;
  stopping = true;
  for (const child of children.values()) child.kill("SIGTERM");
  const done = () => {
    if ([...children.values()].every((c) => c.exitCode !== null || c.signalCode !== null)) process.exit(code);
  };
  for (const child of children.values()) child.on("exit", done);
  done();
}

const env = processEnv();
for (const role of ROLES) {
  const child = spawn(process.execPath, ["--import", "tsx", `${role}/main.ts`], {
    cwd: root,
    stdio: "inherit",
    env: role === "worker" ? { ...env, WORKER_NICE: env.WORKER_NICE || WORKER_NICE } : env,
  });
  children.set(role, child);
  child.on("exit", (code, signal) => {
    if (stopping) return;
    process.stderr.write(`${role} exited (${signal ?? code}); stopping the others\n`);
    stopAll(code || 1);
  });
}

process.on("SIGTERM", () => stopAll(0));
process.on("SIGINT", () => stopAll(0));
