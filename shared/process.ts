import { loadConfig } from "./config.js";
import { runMigrations } from "./db/migrate.js";
import { closeDeps, createDeps, type Deps, StartupError } from "./deps.js";
import { createLogger } from "./logger.js";

// How long a process may take to stop after SIGTERM before it exits anyway.
const STOP_TIMEOUT_MS = 15_000;

/**
 * The frame every process runs in: read the config, reach the stores (one clear
 * line if one is down), migrate, start, and stop cleanly on SIGTERM or SIGINT.
 */
export function runProcess(name: string, start: (deps: Deps) => Promise<() => Promise<void>>): void {
  const cfg = loadConfig();
  const log = createLogger(name, cfg);
  const main = async () => {
    let deps: Deps;
    try {
      deps = await createDeps(cfg, name, log);
      await runMigrations(cfg.DATABASE_URL);
    } catch (err) {
      const msg = err instanceof StartupError ? err.message : `${name}: cannot start: ${String(err)}`;
      process.stderr.write(`${msg}\n`);
      process.exit(1);
    }
    const stop = await start(deps);
    let stopping = false;
    const shutdown = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, "stopping");
      setTimeout(() => {
        log.error("did not stop in time; exiting");
        process.exit(1);
      }, STOP_TIMEOUT_MS).unref();
      await stop();
      await closeDeps(deps);
      process.exit(0);
    };
    process.on("SIGTERM", () => void shutdown("SIGTERM"));
    process.on("SIGINT", () => void shutdown("SIGINT"));
  };
  main().catch((err) => {
    log.fatal({ err: String(err) }, "crashed");
    process.exit(1);
  });
}
