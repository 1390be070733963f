import { statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// Container health check, run every few seconds, so it loads nothing but Node itself:
// `healthcheck.js api [port]` asks the API's /health; `healthcheck.js worker|scheduler`
// checks the process's heartbeat is fresh (an event loop stuck for 30 s counts as unhealthy).
// The heartbeat's path is shared/process.ts's heartbeatFile (test/build.test.ts checks
// the two agree).
const STALE_MS = 30_000;
const role = process.argv[2] ?? "api";

async function healthy(): Promise<boolean> {
  if (role === "api") {
    // The port is the container's: PORT as the process got it (default 3000).
    const port = process.argv[3] ?? "3000";
    const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(3000) });
    return res.ok;
  }
  return Date.now() - statSync(join(tmpdir(), `flash-sale-${role}.alive`)).mtimeMs < STALE_MS;
}

healthy().then(
  (ok) => process.exit(ok ? 0 : 1),
  () => process.exit(1),
);
