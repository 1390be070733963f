import { statSync } from "node:fs";
import { heartbeatFile } from "../shared/process.js";

// Container health check: `healthcheck.ts api` asks the API's /health;
// `healthcheck.ts worker|scheduler` checks the process's heartbeat is fresh
// (an event loop stuck for 30 s counts as unhealthy).
const STALE_MS = 30_000;
const role = process.argv[2] ?? "api";

async function main(): Promise<boolean> {
  if (role === "api") {
    // The port is the container's: PORT as the process got it (default 3000).
    const port = process.argv[3] ?? "3000";
    const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(3000) });
    return res.ok;
  }
  return Date.now() - statSync(heartbeatFile(role)).mtimeMs < STALE_MS;
}

main().then(
  (ok) => process.exit(ok ? 0 : 1),
  () => process.exit(1),
);
