import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "./config.js";
import { runMigrations } from "./db/migrate.js";
import { closeDeps, createDeps, type Deps, StartupError } from "./deps.js";
import { createLogger } from "./logger.js";
import { watchRedis } from "./recovery/watch.js";

// How long a process may take to stop after SIGTERM before it exits anyway.
const STOP_TIMEOUT_MS = 15_000;

/**
 * The frame every process runs in: read the config, reach the stores (one clear
 * line if one is down), migrate, start, and stop cleanly on SIGTERM or SIGINT.
 */
export function runProcess(
  name: string,
  start: (deps: Deps) => Promise<() => Promise<void>>,
  opts: { failFast?: boolean } = {},
): void {
  const cfg = loadConfig();
  const log = createLogger(name, cfg);
  let stop: (() => Promise<void>) | null = null;
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "stopping");
    setTimeout(() => {
      log.error("did not stop in time; exiting");
      process.exit(1);
    }, STOP_TIMEOUT_MS).unref();
    // Still starting: nothing is running yet, and what is half done (a sale being
    // created) is one transaction that rolls back.
    if (!stop) process.exit(0);
    await stop();
    process.exit(0);
  };
  // Listen from the first moment, so a SIGTERM during start-up is not a crash.
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));

  const main = async () => {
    let deps: Deps;
    try {
      deps = await createDeps(cfg, name, log, opts);
      await runMigrations(cfg.DATABASE_URL);
    } catch (err) {
      const msg = err instanceof StartupError ? err.message : `${name}: cannot start: ${String(err)}`;
      process.stderr.write(`${msg}\n`);
      process.exit(1);
    }
    // Every process watches for a Redis that lost its data, and the first to see it
    // rebuilds it from PostgreSQL (shared/recovery); a Redis found empty at start is
    // rebuilt before this process takes work.
    const watcher = watchRedis(deps);
    await watcher.ready;
    const stopApp = await start(deps);
    startHeartbeat(name);
    stop = async () => {
      await watcher.stop();
      await stopApp();
      await closeDeps(deps);
    };
  };
  main().catch((err) => {
    log.fatal({ err: String(err) }, "crashed");
    process.exit(1);
  });
}

// A process that is up and not stuck touches this file; container health checks
// for processes without an HTTP port read it (scripts/healthcheck.ts).
const HEARTBEAT_MS = 5000;

export const heartbeatFile = (name: string) => join(tmpdir(), `flash-sale-${name}.alive`);

function startHeartbeat(name: string) {
  const beat = () => {
    try {
      writeFileSync(heartbeatFile(name), String(Date.now()));
    } catch {
      // A read-only /tmp only costs the health check; never the process.
    }
  };
  beat();
  setInterval(beat, HEARTBEAT_MS).unref();
}
