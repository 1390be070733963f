import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// postgres.js 3.4.9 writes small messages on the next turn of the event loop; when the
// connection's socket closed in between, that write threw outside any promise and killed
// the process (upstream porsager/postgres#1154, #1208). A fresh-clone CI run lost both
// workers of the PostgreSQL-restart drill to it. patches/postgres+3.4.9.patch (applied by
// `npm ci`'s postinstall) makes the write fail the queries instead. The script runs in its
// own process so that the crash, if it comes back, shows as an exit code here.

const root = fileURLToPath(new URL("..", import.meta.url));
const url = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

const script = `
import postgres from "postgres";
const url = process.env.PG_URL;
const sql = postgres(url, { max: 2, onnotice: () => {} });
const admin = postgres(url, { max: 1, onnotice: () => {} });
const reserved = await sql.reserve();
const [{ pid }] = await reserved\`select pg_backend_pid() as pid\`;
const codes = [];
const first = reserved\`select pg_sleep(30)\`.catch(async (err) => {
  codes.push(err.code);
  // Sent on the same connection as its close is handled: the write is due after it.
  await reserved\`select 1\`.catch((err2) => codes.push(err2.code));
});
await new Promise((r) => setTimeout(r, 200));
await admin\`select pg_terminate_backend(\${pid})\`;
await first;
// Let any write still due run before saying we lived.
await new Promise((r) => setTimeout(r, 200));
// The pool is still usable after the loss.
const [{ one }] = await sql\`select 1 as one\`;
console.log(JSON.stringify({ codes, one }));
await admin.end();
await sql.end({ timeout: 1 });
`;

describe("postgres.js: a connection that loses its backend", () => {
  it("fails its queries with CONNECTION_CLOSED and the process lives on", () => {
    const run = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
      cwd: root,
      env: { ...process.env, PG_URL: url },
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(run.stderr).not.toMatch(/TypeError/);
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout.trim())).toEqual({
      codes: ["CONNECTION_CLOSED", "CONNECTION_CLOSED"],
      one: 1,
    });
  });
});
