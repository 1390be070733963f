import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { answers, waitUntil } from "./probe.js";
import { type LocalServer, spawnServer } from "./server.js";

// No npm package carries a redis-server binary (redis-memory-server builds one from a
// download outside npm), so this is the machine's redis-server, or Debian's package.

const READY_MS = 15_000;

function haveRedisServer(): boolean {
  return spawnSync("redis-server", ["--version"], { stdio: "ignore" }).status === 0;
}

function installDebianRedis(say: (line: string) => void): void {
  if (spawnSync("apt-get", ["--version"], { stdio: "ignore" }).status !== 0)
    throw new Error("no redis-server here and no apt-get to install it: install Redis 7, or set REDIS_URL");
  say("redis: no redis-server on PATH (no npm package ships one): installing Debian's redis-server");
  const sudo = process.getuid?.() === 0 ? [] : ["sudo"];
  const run = (args: string[]) => {
    const [cmd, ...rest] = [...sudo, ...args] as [string, ...string[]];
    const r = spawnSync(cmd, rest, {
      stdio: ["ignore", "ignore", "inherit"],
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
    if (r.status !== 0) throw new Error(`redis: ${args.join(" ")} failed; install Redis 7, or set REDIS_URL`);
  };
  run(["apt-get", "update", "-qq"]);
  run(["apt-get", "install", "-y", "-qq", "redis-server"]);
}

function pong(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    let got = "";
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once("error", () => done(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.on("data", (d: Buffer) => {
      got += d.toString();
      // Loading its append-only file, Redis answers -LOADING: not ready yet.
      if (got.includes("\r\n")) done(got.startsWith("+PONG"));
    });
  });
}

/**
 * Starts redis-server on 127.0.0.1:`port` with its data in `dir` (kept across starts:
 * append-only file). Null when installing Debian's package started a server of its own there.
 */
export async function startRedis(port: number, dir: string, say: (line: string) => void) {
  if (!haveRedisServer()) {
    installDebianRedis(say);
    if (await answers("127.0.0.1", port)) return null;
  }
  // Its dump holds every ticket's key: readable by this account only, as PostgreSQL's data is.
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const log = join(dir, "redis.log");
  const { exited, server } = spawnServer({
    name: "redis",
    bin: "redis-server",
    // BullMQ needs noeviction: an evicted job key would lose a ticket.
    args: [
      ...["--port", String(port), "--bind", "127.0.0.1", "--dir", dir],
      ...["--appendonly", "yes", "--save", "", "--maxmemory-policy", "noeviction", "--logfile", ""],
    ],
    log,
    stopSignal: "SIGTERM",
  });
  try {
    await waitUntil("redis-server", () => pong(port), exited, READY_MS);
  } catch (err) {
    await server.stop();
    throw new Error(`redis: ${(err as Error).message}; see ${log}`);
  }
  return server satisfies LocalServer;
}
