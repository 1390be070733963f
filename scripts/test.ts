import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { processEnv } from "../shared/config.js";
import { testStores } from "../tools/harness/stores.js";
import type { LocalServer } from "./local/server.js";
import { ensureStores, stopStores } from "./local/stores.js";

// `npm test`: vitest run (its arguments passed on), with a Redis and a PostgreSQL for the
// suites. When none answers where the suites look (tools/harness/env.ts: TEST_REDIS_URL,
// TEST_DATABASE_URL, else the local defaults below), they are started for the run as
// `npm start` does, and stopped after it.

const checkout = fileURLToPath(new URL("..", import.meta.url));
const env = processEnv();
const say = (line: string) => process.stdout.write(`test: ${line}\n`);
const stores: LocalServer[] = [];
let code = 1;

async function finish(): Promise<never> {
  await stopStores(stores);
  process.exit(code);
}
let child: ChildProcess | undefined;
// Once vitest runs, Ctrl-C reaches it too (the same process group): it stops, then so do the stores.
process.on("SIGINT", () => {
  if (!child) void finish();
});
process.on("SIGTERM", () => {
  if (child) child.kill("SIGTERM");
  else void finish();
});

try {
  await ensureStores(testStores(env), checkout, stores, say);
} catch (err) {
  process.stderr.write(`test: ${err instanceof Error ? err.message : err}\n`);
  await finish();
}

const vitestPkg = createRequire(import.meta.url).resolve("vitest/package.json");
const vitest = join(dirname(vitestPkg), "vitest.mjs");
child = spawn(process.execPath, [vitest, "run", ...process.argv.slice(2)], { stdio: "inherit" });
child.on("exit", (status, signal) => {
  code = status ?? (signal ? 1 : 0);
  void finish();
});
