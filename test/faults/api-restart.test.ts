import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sleep } from "../../shared/time.js";
import { auditSale } from "../../tools/audit/audit.js";
import { createProcessEnv, type HttpClient, httpClient } from "../../tools/harness/env.js";
import { checkInvariants, readTickets, waitForRest } from "../../tools/harness/invariants.js";
import { envOf, freePort, type Role, startRole } from "../../tools/harness/processes.js";
import { recordDrill, startLoad } from "../helpers/drill.js";

// Drill: an API process stopped with SIGTERM, and another killed with SIGKILL, each
// with checkouts in flight and a crowd on both. Clients that retry with their
// Idempotency-Key on the other (or a restarted) API get the same ticket back.

// SIGTERM must end the process well within shared/process.ts's 15 s stop timeout.
const SIGTERM_BOUND_MS = 10_000;
const ITEMS = 200;
const KEYED = 40;
const POLLS = 10;

type Accepted = { ticket_id?: string; error?: { code: string } };

let env: Awaited<ReturnType<typeof createProcessEnv>>;
const apis: { role: Role; http: HttpClient; port: number }[] = [];

async function startApi(port?: number) {
  const p = port ?? (await freePort());
  const role = await startRole("api", envOf(env.cfg, { PORT: String(p) }), /api listening/, 60_000);
  env.roles.push(role);
  return { role, http: httpClient(`http://127.0.0.1:${p}`), port: p };
}

beforeAll(async () => {
  env = await createProcessEnv({ workers: 1 });
  const first = env.roles.find((r) => r.child.spawnargs.some((a) => a.includes("api/main.ts")));
  if (!first) throw new Error("no api");
  apis.push({ role: first, http: env, port: Number(new URL(env.url).port) }, await startApi());
});
afterAll(async () => {
  await env?.close();
});

/** KEYED checkouts with their own Idempotency-Key, all sent at once; a network error is undefined. */
const keyedCheckouts = (http: HttpClient, tag: string) =>
  Promise.all(
    Array.from({ length: KEYED }, (_, i) =>
      http
        .json<Accepted>("/checkout", {
          method: "POST",
          json: { user_id: `${tag}${i}`, item_id: "K" },
          headers: { "idempotency-key": `${tag}-key-${i}` },
        })
        .catch(() => undefined),
    ),
  );

/** Up to `n` of these tickets that are not final yet. */
async function openTickets(saleId: string, ids: string[], n: number) {
  const status = new Map((await readTickets(env.deps, saleId)).map((t) => [t.id, t.status]));
  return ids.filter((id) => ["queued", "reserved", "paying"].includes(status.get(id) ?? "")).slice(-n);
}

/** The retry after the fault, on another API: returns the ticket ids, in order. */
async function retryEach(http: HttpClient, tag: string) {
  const again = await keyedCheckouts(http, tag);
  return again.map((a) => {
    const id = a?.status === 202 ? a.body.ticket_id : undefined;
    if (!id) throw new Error(`retry of ${tag}: ${JSON.stringify(a)}`);
    return id;
  });
}

describe("drill: API processes stopped under load", () => {
  it("SIGTERM drains and exits in time, SIGKILL loses nothing; a retried key never makes a second ticket", async () => {
    // Slow payments, so tickets stay in line long enough to be long-polled across the SIGTERM.
    await env.setPayments({ slots: 10, latency_ms: { min: 200, max: 600 }, failure_rate: 0.1, hang_rate: 0 });
    await sleep(1000);
    const items = Array.from({ length: ITEMS }, (_, i) => String(i + 1));
    // The crowd buys the numbered items; the keyed clients buy K, which does not sell out under them.
    const saleId = await env.createSale({
      items: [...items.map((item_id) => ({ item_id, stock: 5 })), { item_id: "K", stock: 4 * KEYED }],
      user_limit: 10,
    });
    let turn = 0;
    // The crowd goes round the live APIs, as a balancer would.
    const load = startLoad(() => (apis[turn++ % apis.length] ?? apis[0])?.http ?? env, {
      clients: 8,
      items,
      pauseMs: 30,
    });
    await sleep(1500);

    // SIGTERM with requests in flight: long polls on tickets still in line (payments are
    // slow here), certainly inside the server, and keyed checkouts sent at the same moment.
    const victim = apis.shift();
    if (!victim) throw new Error("no api");
    const open = await openTickets(saleId, load.stats.accepted, POLLS);
    const polls = open.map((id) =>
      victim.http.request(`/tickets/${id}?wait=20000`).then(
        (r) => r.status,
        () => "cut off",
      ),
    );
    await sleep(300);
    const inFlight = keyedCheckouts(victim.http, "term");
    await sleep(5);
    const t0 = Date.now();
    victim.role.child.kill("SIGTERM");
    const code = await victim.role.exited;
    const termMs = Date.now() - t0;
    expect(code, victim.role.output().slice(-3000)).toBe(0);
    expect(termMs).toBeLessThan(SIGTERM_BOUND_MS);
    // Every long poll was answered (at once, with the ticket as it stands), none cut off.
    expect(open.length).toBeGreaterThan(0);
    expect(await Promise.all(polls)).toEqual(open.map(() => 200));
    const answered = await inFlight;
    // Each request in flight got its full answer, or (not yet taken in) a refused connection: never a 5xx.
    expect(answered.filter((a) => a !== undefined && a.status !== 202)).toEqual([]);
    // Stopped accepting: nothing listens there any more.
    await expect(fetch(`${victim.http.url}/health`)).rejects.toThrow();
    const survivor = apis[0];
    if (!survivor) throw new Error("no api");
    const afterTerm = await retryEach(survivor.http, "term");
    answered.forEach((a, i) => {
      // An answer that arrived carries the same ticket the retry gets.
      if (a?.status === 202) expect(afterTerm[i]).toBe(a.body.ticket_id);
    });
    const drained = answered.filter((a) => a !== undefined).length;

    // A replacement on the old port, then SIGKILL the other one mid-flight.
    apis.push(await startApi(victim.port));
    const killed = apis.shift();
    if (!killed) throw new Error("no api");
    const inFlightKill = keyedCheckouts(killed.http, "kill");
    await sleep(5);
    expect(await killed.role.kill("SIGKILL")).toBe("SIGKILL");
    const t1 = Date.now();
    const answeredKill = await inFlightKill;
    expect(answeredKill.filter((a) => a !== undefined && a.status !== 202)).toEqual([]);
    const restarted = apis[0];
    if (!restarted) throw new Error("no api");
    const afterKill = await retryEach(restarted.http, "kill");
    const killRecoveryMs = Date.now() - t1;
    answeredKill.forEach((a, i) => {
      if (a?.status === 202) expect(afterKill[i]).toBe(a.body.ticket_id);
    });
    // The restarted API (on the first one's port) also answers the SIGTERM round's keys the same.
    expect(await retryEach(restarted.http, "term")).toEqual(afterTerm);
    apis.push(await startApi());
    await sleep(1000);
    const stats = await load.stop();

    await waitForRest(env.deps, saleId, 90_000);
    const tickets = await readTickets(env.deps, saleId);
    // One ticket per key: each keyed user has exactly one.
    for (const tag of ["term", "kill"]) {
      for (let i = 0; i < KEYED; i++) {
        expect(tickets.filter((t) => t.user === `${tag}${i}`)).toHaveLength(1);
      }
    }
    const report = await checkInvariants(env.deps, saleId);
    expect(report.violations).toEqual([]);
    const audit = await auditSale(env.deps, saleId, readTickets);
    expect(audit.checks.filter((c) => c.violations.length)).toEqual([]);

    recordDrill({
      drill: "api-restart",
      load: `8 clients over the live APIs (~${stats.rate()} checkouts/s) + ${KEYED} keyed checkouts in flight at each fault, ${ITEMS} items × 5, payments 200–600 ms`,
      fault: `API SIGTERM with ${open.length} long polls and ${KEYED} keyed checkouts in flight (exit 0 in ${termMs} ms; every poll and ${drained} checkouts answered, the rest failed at the connection and were retried), replacement on its port, other API SIGKILL`,
      recovery: `SIGKILL → all ${KEYED} keys retried on the other API, same tickets`,
      recovery_ms: killRecoveryMs,
      answers: stats.answers,
      audit,
      extra: { sigterm_exit_ms: termMs, sigterm_in_flight_answered: drained },
    });
  }, 180_000);
});
