import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../tools/harness/processes.js";

// A throwaway PostgreSQL cluster on a free loopback port (Debian's binaries,
// trust auth), so a drill can stop it hard and start it again without touching
// the machine's PostgreSQL. Run as root, the server runs as the postgres user.

const BIN = "/usr/lib/postgresql/15/bin";
const asRoot = process.getuid?.() === 0;

/** Why a local PostgreSQL cannot start here, or null when it can. */
export function postgresUnavailable(): string | null {
  if (!existsSync(join(BIN, "pg_ctl")))
    return `${BIN}/pg_ctl is missing (Debian: postgresql-15): skipping this drill`;
  if (asRoot) {
    try {
      execFileSync("id", ["postgres"], { stdio: "ignore" });
    } catch {
      return "running as root without a postgres user to run the server: skipping this drill";
    }
  }
  return null;
}

export interface LocalPostgres {
  port: number;
  /** A URL for the cluster's postgres database; a suite makes its own database from it. */
  url: string;
  /** pg_ctl stop -m immediate: a crash, as far as clients can tell. */
  stop(): void;
  start(): void;
  /** Stops it and removes its files. */
  remove(): void;
}

// pg_ctl's own wait gives up before execFileSync would kill pg_ctl, so a slow start fails
// with pg_ctl's message (and its server can still be found through postmaster.pid).
const PG_CTL_WAIT_S = 50;
const RUN_TIMEOUT_MS = 60_000;
// A free port can be taken by someone else before the server binds it: try another.
const PORT_TRIES = 3;

function run(bin: string, args: string[]) {
  const cmd = asRoot
    ? ["runuser", ["-u", "postgres", "--", join(BIN, bin), ...args]]
    : [join(BIN, bin), args];
  execFileSync(cmd[0] as string, cmd[1] as string[], { stdio: "ignore", timeout: RUN_TIMEOUT_MS });
}

export async function startLocalPostgres(): Promise<LocalPostgres> {
  const dir = mkdtempSync(join(tmpdir(), "fs-pg-"));
  const data = join(dir, "data");
  let port = 0;
  const options = () =>
    [
      `-c listen_addresses=127.0.0.1 -p ${port} -c unix_socket_directories=${dir}`,
      // A test cluster: no need to survive the machine crashing, only the server.
      "-c fsync=off -c max_connections=200",
    ].join(" ");
  const wait = ["-w", "-t", String(PG_CTL_WAIT_S)];
  const start = () => run("pg_ctl", ["start", ...wait, "-D", data, "-l", join(dir, "log"), "-o", options()]);
  const stop = () => {
    try {
      run("pg_ctl", ["stop", "-m", "immediate", ...wait, "-D", data]);
    } catch {
      // Not running, or pg_ctl gave up: the postmaster's pid says which.
    }
    killPostmaster(data);
  };
  // Should the test process exit without remove() (a crash, a timeout), the server goes too.
  const remove = () => {
    process.off("exit", remove);
    stop();
    rmSync(dir, { recursive: true, force: true });
  };
  process.on("exit", remove);
  try {
    if (asRoot) execFileSync("chown", ["postgres:postgres", dir]);
    run("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
    for (let tries = 1; ; tries++) {
      port = await freePort();
      try {
        start();
        break;
      } catch (err) {
        // Whatever it left running goes before the next port, or before giving up.
        stop();
        if (tries >= PORT_TRIES) throw err;
      }
    }
  } catch (err) {
    remove();
    throw err;
  }
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop,
    start,
    remove,
  };
}

/**
 * SIGKILLs the postmaster named in `data`'s postmaster.pid, if it is still running: a
 * file left by a killed server may name a pid since reused, so the process must be a
 * server of this very data directory.
 */
function killPostmaster(data: string) {
  let pid = 0;
  try {
    pid = Number(readFileSync(join(data, "postmaster.pid"), "utf8").split("\n")[0]);
    if (!Number.isInteger(pid) || pid <= 1) return;
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    if (!cmdline[0]?.endsWith("postgres") || !cmdline.includes(data)) return;
    process.kill(pid, "SIGKILL");
  } catch {
    // No file, no such process, or already gone.
  }
}
