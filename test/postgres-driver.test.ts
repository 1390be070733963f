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

// A reserved connection that lost its backend, given a query of over 1 KB (written at once,
// not on the next turn) and then released: the pool must connect again rather than keep a
// connection without a socket (every later query failed, or waited forever).
const releasedScript = `
import postgres from "postgres";
const url = process.env.PG_URL;
const sql = postgres(url, { max: 1, onnotice: () => {} });
const admin = postgres(url, { max: 1, onnotice: () => {} });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const reserved = await sql.reserve();
const [{ pid }] = await reserved\`select pg_backend_pid() as pid\`;
const codes = [];
const first = reserved\`select pg_sleep(30)\`.catch(async (err) => {
  codes.push(err.code);
  await reserved\`select \${"x".repeat(2000)}::text as big\`.catch((err2) => codes.push(err2.code));
});
await sleep(200);
await admin\`select pg_terminate_backend(\${pid})\`;
await first;
reserved.release();
const answers = [];
for (let i = 0; i < 5; i++)
  answers.push(await Promise.race([
    sql\`select 1 as one\`.then((r) => r[0].one, (e) => e.code),
    sleep(5000).then(() => "waited 5 s"),
  ]));
console.log(JSON.stringify({ codes, answers }));
await admin.end();
await sql.end({ timeout: 1 });
`;

/** Runs a script in a process of its own: it must exit 0 with no TypeError; its printed JSON. */
function runAlone(source: string): unknown {
  const run = spawnSync(process.execPath, ["--input-type=module", "-e", source], {
    cwd: root,
    env: { ...process.env, PG_URL: url },
    encoding: "utf8",
    timeout: 60_000,
  });
  expect(run.stderr).not.toMatch(/TypeError/);
  expect(run.status).toBe(0);
  return JSON.parse(run.stdout.trim());
}

describe("postgres.js: a connection that loses its backend", () => {
  it("fails its queries with CONNECTION_CLOSED and the process lives on", () => {
    expect(runAlone(script)).toEqual({
      codes: ["CONNECTION_CLOSED", "CONNECTION_CLOSED"],
      one: 1,
    });
  });

  it("a released connection without a socket is connected again: the pool answers within a few queries", () => {
    const { codes, answers } = runAlone(releasedScript) as { codes: string[]; answers: unknown[] };
    expect(codes).toEqual(["CONNECTION_CLOSED", "CONNECTION_CLOSED"]);
    // At most the first two may still fail (the old session's end); then it answers, and keeps answering.
    expect(answers.slice(2)).toEqual([1, 1, 1]);
    expect(answers).not.toContain("waited 5 s");
  });
});
