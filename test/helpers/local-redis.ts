import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { sleep } from "../../shared/time.js";
import { freePort } from "./processes.js";
import { withNode } from "./redis-cluster.js";

// A throwaway Redis on a free loopback port that keeps nothing on disk, so a
// drill can kill it and start it again empty, without touching the machine's Redis.

/** Why a local Redis cannot start here, or null when redis-server is on PATH. */
export function redisServerUnavailable(): string | null {
  try {
    execFileSync("redis-server", ["--version"], { stdio: "ignore" });
    return null;
  } catch {
    return "redis-server is not on PATH (Debian: apt-get install redis-server): skipping this drill";
  }
}

export interface LocalRedis {
  port: number;
  url: string;
  /** Kills it (SIGKILL): everything it held is gone. */
  kill(): Promise<void>;
  /** Starts it again, empty, on the same port. */
  start(): Promise<void>;
}

const READY_MS = 10_000;

export async function startLocalRedis(): Promise<LocalRedis> {
  const port = await freePort();
  let server: ChildProcess | null = null;
  const kill = async () => {
    const s = server;
    server = null;
    if (!s || s.exitCode !== null || s.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      s.once("exit", () => resolve());
      s.kill("SIGKILL");
    });
  };
  const start = async () => {
    server = spawn(
      "redis-server",
      [
        ...["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        ...["--maxmemory-policy", "noeviction", "--dir", "/tmp"],
      ],
      { stdio: "ignore" },
    );
    await untilPong(port);
  };
  await start();
  return { port, url: `redis://127.0.0.1:${port}`, kill, start };
}

async function untilPong(port: number) {
  const deadline = Date.now() + READY_MS;
  while (Date.now() < deadline) {
    try {
      if ((await withNode(port, (r) => r.ping())) === "PONG") return;
    } catch {
      // Not listening yet.
    }
    await sleep(50);
  }
  throw new Error(`redis-server on port ${port} did not answer within ${READY_MS} ms`);
}
