import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./processes.js";

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

function run(bin: string, args: string[]) {
  const cmd = asRoot
    ? ["runuser", ["-u", "postgres", "--", join(BIN, bin), ...args]]
    : [join(BIN, bin), args];
  execFileSync(cmd[0] as string, cmd[1] as string[], { stdio: "ignore", timeout: 60_000 });
}

export async function startLocalPostgres(): Promise<LocalPostgres> {
  const dir = mkdtempSync(join(tmpdir(), "fs-pg-"));
  if (asRoot) execFileSync("chown", ["postgres:postgres", dir]);
  const data = join(dir, "data");
  const port = await freePort();
  const options = [
    `-c listen_addresses=127.0.0.1 -p ${port} -c unix_socket_directories=${dir}`,
    // A test cluster: no need to survive the machine crashing, only the server.
    "-c fsync=off -c max_connections=200",
  ].join(" ");
  const start = () => run("pg_ctl", ["start", "-w", "-D", data, "-l", join(dir, "log"), "-o", options]);
  const stop = () => {
    try {
      run("pg_ctl", ["stop", "-m", "immediate", "-w", "-D", data]);
    } catch {
      // Not running.
    }
  };
  try {
    run("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
    start();
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop,
    start,
    remove() {
      stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
