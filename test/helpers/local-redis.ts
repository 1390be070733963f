import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sleep } from "../../shared/time.js";
import { freePort } from "../../tools/harness/processes.js";
import { withNode } from "./redis-cluster.js";

// A throwaway Redis on a free loopback port that keeps nothing on disk, so a
// drill can kill it and start it again empty, without touching the machine's Redis.
// Whatever it spawns it also kills, on every path: a start that fails or times out,
// kill(), and this process exiting without calling kill().

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
// A free port can be taken by someone else before redis-server binds it: try another.
const PORT_TRIES = 3;

/** The server spawned is not the one answering on its port, or exited before it answered. */
class NotStarted extends Error {}

export async function startLocalRedis(): Promise<LocalRedis> {
  for (let tries = 1; ; tries++) {
    const server = localRedis(await freePort());
    try {
      await server.start();
      return server;
    } catch (err) {
      // start() has already killed what it spawned and removed its directory.
      if (!(err instanceof NotStarted) || tries >= PORT_TRIES) throw err;
    }
  }
}

function localRedis(port: number): LocalRedis {
  let server: { child: ChildProcess; dir: string; exited: Promise<void> } | null = null;
  // Should the test process exit without kill() (a crash, a timeout), the server goes too.
  const onExit = () => server?.child.kill("SIGKILL");

  const kill = async () => {
    const s = server;
    server = null;
    if (!s) return;
    process.off("exit", onExit);
    if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill("SIGKILL");
    await s.exited;
    rmSync(s.dir, { recursive: true, force: true });
  };

  const start = async () => {
    await kill();
    // Its own working directory: it should write nothing, and whatever it does write goes with it.
    const dir = mkdtempSync(join(tmpdir(), "fs-redis-"));
    let child: ChildProcess;
    try {
      child = spawn(
        "redis-server",
        [
          ...["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
          ...["--maxmemory-policy", "noeviction", "--dir", dir],
        ],
        { stdio: "ignore" },
      );
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    let gone: string | null = null;
    const exited = new Promise<void>((resolve) => {
      child.once("exit", (code, signal) => {
        gone = `exited (${signal ?? code})`;
        resolve();
      });
      // Not spawned at all (no exit event follows), or a later kill failed: never unhandled.
      child.on("error", (err) => {
        gone ??= `could not start: ${err.message}`;
        if (child.pid === undefined) resolve();
      });
    });
    server = { child, dir, exited };
    process.on("exit", onExit);
    try {
      await untilOurs(port, child, () => gone);
    } catch (err) {
      await kill();
      throw err;
    }
  };

  return { port, url: `redis://127.0.0.1:${port}`, kill, start };
}

/**
 * Waits until the server answers on `port` and is the one spawned: another process
 * holding the port (ours then fails to bind and exits) must not pass for it.
 */
async function untilOurs(port: number, child: ChildProcess, gone: () => string | null) {
  const deadline = Date.now() + READY_MS;
  while (Date.now() < deadline) {
    const why = gone();
    if (why) throw new NotStarted(`redis-server on port ${port} ${why}`);
    let info: string | null = null;
    try {
      info = await withNode(port, (r) => r.info("server"));
    } catch {
      // Not listening yet.
    }
    if (info !== null) {
      if (/^process_id:(\d+)/m.exec(info)?.[1] === String(child.pid)) return;
      throw new NotStarted(`port ${port} is answered by another Redis than the one started`);
    }
    await sleep(50);
  }
  throw new Error(`redis-server on port ${port} did not answer within ${READY_MS} ms`);
}
