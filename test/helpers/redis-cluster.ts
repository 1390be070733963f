import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { sleep } from "../../shared/time.js";

// A throwaway Redis Cluster of three masters on loopback, from Debian's redis-server.

/** Why the cluster cannot start here, or null when redis-server and redis-cli are on PATH. */
export function clusterUnavailable(): string | null {
  for (const bin of ["redis-server", "redis-cli"]) {
    try {
      execFileSync(bin, ["--version"], { stdio: "ignore" });
    } catch {
      return `${bin} is not on PATH (Debian: apt-get install redis-server): skipping the Redis Cluster test`;
    }
  }
  return null;
}

export interface LocalCluster {
  /** "127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3", as REDIS_CLUSTER_NODES takes it. */
  nodes: string;
  stop(): Promise<void>;
}

const MASTERS = 3;
// The cluster bus and slot assignment settle within a few seconds on loopback.
const READY_MS = 20_000;

export async function startLocalCluster(): Promise<LocalCluster> {
  const dir = mkdtempSync(join(tmpdir(), "fs-cluster-"));
  const servers: ChildProcess[] = [];
  const ports: number[] = [];
  const stop = async () => {
    await Promise.all(
      servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            if (s.exitCode !== null || s.signalCode !== null) return resolve();
            s.once("exit", () => resolve());
            s.kill("SIGKILL");
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < MASTERS; i++) {
      const port = await clusterPort(ports);
      ports.push(port);
      servers.push(
        spawn(
          "redis-server",
          [
            ...["--port", String(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes"],
            ...["--cluster-config-file", join(dir, `nodes-${port}.conf`), "--dir", dir],
            ...["--save", "", "--appendonly", "no", "--maxmemory-policy", "noeviction"],
          ],
          { stdio: "ignore" },
        ),
      );
    }
    await Promise.all(ports.map((p) => untilPong(p)));
    const nodes = ports.map((p) => `127.0.0.1:${p}`);
    execFileSync("redis-cli", ["--cluster", "create", ...nodes, "--cluster-replicas", "0", "--cluster-yes"], {
      stdio: "ignore",
      timeout: READY_MS,
    });
    await Promise.all(ports.map((p) => untilClusterOk(p)));
    return { nodes: nodes.join(","), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

// Each node's cluster bus listens on its port + 10000, so both must be free (and below 65536).
async function clusterPort(taken: number[]): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    if (taken.includes(port)) continue;
    if ((await isFree(port)) && (await isFree(port + 10_000))) return port;
  }
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

/** One throwaway connection to a loopback Redis on `port`, no retries: `fn`, then disconnect. */
export async function withNode<T>(port: number, fn: (r: Redis) => Promise<T>): Promise<T> {
  const r = new Redis({
    port,
    host: "127.0.0.1",
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  r.on("error", () => {});
  try {
    await r.connect();
    return await fn(r);
  } finally {
    r.disconnect();
  }
}

async function until(what: string, port: number, ok: (r: Redis) => Promise<boolean>) {
  const deadline = Date.now() + READY_MS;
  while (Date.now() < deadline) {
    if (await withNode(port, ok).catch(() => false)) return;
    await sleep(100);
  }
  throw new Error(`redis-server on port ${port}: ${what} not reached in ${READY_MS} ms`);
}

const untilPong = (port: number) => until("PONG", port, async (r) => (await r.ping()) === "PONG");
const untilClusterOk = (port: number) =>
  until("cluster_state:ok", port, async (r) => (await r.cluster("INFO")).includes("cluster_state:ok"));
