import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseTicketId } from "../shared/keys.js";
import type { TicketView } from "../shared/ticket/view.js";
import { waitForAdmitted } from "../shared/ticket/wait.js";
import { sleep } from "../shared/time.js";
import { createTestEnv, type TestEnv } from "../tools/harness/env.js";

// One request per purchase: POST /checkout?wait=MS answers when the ticket is final,
// its wait registered before the ticket is queued and ended by one timer per
// process, or by its client going away.

type Accepted = Pick<TicketView, "ticket_id" | "status" | "position" | "poll_after_ms">;

/** A Prometheus sample: `name{labels} value` → value (0 when absent). */
function sample(text: string, name: string, labels: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${name}{${labels}} `));
  return line ? Number(line.split(" ").pop()) : 0;
}

describe("checkout ?wait, with a worker", () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv({ workers: 1 });
    await env.setPayments({ failure_rate: 0, hang_rate: 0, latency_ms: { min: 0, max: 2 } });
  });
  afterAll(async () => {
    await env?.close();
  });

  it("answers purchased in one request, for 50 shoppers at once", async () => {
    await env.createSale({ items: 50, stock_per_item: 1 });
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        env.json<Accepted>(`/checkout?user_id=w${i}&id=${i + 1}&wait=20000`, { method: "POST" }),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 202));
    expect(answers.map((a) => a.body.status)).toEqual(answers.map(() => "purchased"));
    // Final: nothing left to poll for.
    expect(answers.every((a) => a.body.poll_after_ms === 0)).toBe(true);
    expect(env.api.ctx.events.size()).toBe(0);
  });

  it("a final answer says why: the purchase, or the reason it was refused", async () => {
    await env.setPayments({ latency_ms: { min: 200, max: 200 } });
    await env.createSale({ items: [{ item_id: "last", stock: 1 }] });
    // Both admitted (a unit is still there, or reserved); the second waits for it and is told sold out.
    const [won, lost] = await Promise.all(
      ["r1", "r2"].map((u) =>
        env.json<Accepted & { reason: string | null; purchase_id: string | null }>(
          `/checkout?user_id=${u}&id=last&wait=20000`,
          { method: "POST" },
        ),
      ),
    );
    await env.setPayments({ latency_ms: { min: 0, max: 2 } });
    const bodies = [won?.body, lost?.body].sort((a, b) => (a?.status ?? "").localeCompare(b?.status ?? ""));
    expect(bodies[0]).toMatchObject({ status: "purchased", reason: null });
    expect(bodies[0]?.purchase_id).toMatch(/^[0-9]+$/);
    expect(bodies[1]).toMatchObject({ status: "rejected", reason: "sold_out", purchase_id: null });
  });

  it("a ticket refused for the limit answers rejected in the same request", async () => {
    await env.createSale({ items: [{ item_id: "one", stock: 5 }], user_limit: 1 });
    const first = await env.json<Accepted>("/checkout?user_id=lim&id=one&wait=20000", { method: "POST" });
    expect(first.body.status).toBe("purchased");
    // Refused at the edge now (429), or queued and rejected by the worker: never left waiting.
    const second = await env.json<Accepted>("/checkout?user_id=lim&id=one&wait=20000", { method: "POST" });
    expect([429, 202]).toContain(second.status);
    if (second.status === 202) expect(second.body.status).toBe("rejected");
  });

  it("counts each route's requests in one series, with its latency histogram", async () => {
    await env.createSale({ items: [{ item_id: "M", stock: 1 }] });
    const t = await env.json<Accepted>("/checkout?user_id=m1&id=M&wait=0", { method: "POST" });
    expect(t.status).toBe(202);
    const before = await (await env.request("/metrics")).text();
    for (let i = 0; i < 7; i++) expect((await env.request(`/tickets/${t.body.ticket_id}`)).status).toBe(200);
    const after = await (await env.request("/metrics")).text();
    const route = 'method="GET",route="/tickets/:ticket_id"';
    const delta = (name: string, labels: string) =>
      sample(after, name, labels) - sample(before, name, labels);
    expect(delta("flashsale_http_requests_total", `${route},status="200"`)).toBe(7);
    expect(delta("flashsale_http_request_duration_seconds_count", route)).toBe(7);
    expect(delta("flashsale_http_request_duration_seconds_bucket", `le="+Inf",${route}`)).toBe(7);
    expect(sample(after, "flashsale_http_request_duration_seconds_bucket", `le="30",${route}`)).toBe(
      sample(after, "flashsale_http_request_duration_seconds_count", route),
    );
    expect(after).toMatch(/^# TYPE flashsale_http_request_duration_seconds histogram$/m);
  });
});

describe("checkout ?wait, no worker (tickets stay queued)", () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv({ workers: 0 });
  });
  afterAll(async () => {
    await env?.close();
  });

  it("a wait registered before the ticket is queued sees a change made while it is being queued", async () => {
    const saleId = await env.createSale({ items: [{ item_id: "fast", stock: 1 }] });
    const t = await env.json<Accepted>("/checkout?user_id=f1&id=fast", { method: "POST" });
    const ref = parseTicketId(t.body.ticket_id);
    if (!ref) throw new Error("not a ticket id");
    const { redis, keys } = env.deps;
    const started = Date.now();
    // As if a worker finished the ticket before the enqueue call even returned.
    const ticket = await waitForAdmitted(env.deps, env.api.ctx.events, t.body.ticket_id, 20_000, {
      twoStep: false,
      start: async () => {
        await redis.hset(keys.ticket(saleId, ref.seq), "st", "rejected", "why", "sold_out");
        await redis.publish(keys.events(saleId), `${ref.seq}:rejected:${Date.now()}`);
      },
    });
    expect(ticket?.status).toBe("rejected");
    expect(Date.now() - started, "answered by the event, not the 20 s deadline").toBeLessThan(5000);
    expect(env.api.ctx.events.size()).toBe(0);
  });

  it("200 checkout waits end on time, all by the one sweep, none early", async () => {
    const WAIT_MS = 400;
    await env.createSale({ items: 200, stock_per_item: 1 });
    const answers = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const sent = Date.now();
        const r = await env.json<Accepted>(`/checkout?user_id=e${i}&id=${i + 1}&wait=${WAIT_MS}`, {
          method: "POST",
        });
        return { ...r, ms: Date.now() - sent };
      }),
    );
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 202));
    expect(answers.map((a) => a.body.status)).toEqual(answers.map(() => "queued"));
    // The answer after a wait that ran out is the ticket as it stands, with its place.
    expect(answers.every((a) => a.body.position === 1)).toBe(true);
    expect(Math.min(...answers.map((a) => a.ms))).toBeGreaterThanOrEqual(WAIT_MS);
    // A bound on lateness, not a speed: a loaded machine only narrows it.
    expect(Math.max(...answers.map((a) => a.ms))).toBeLessThan(WAIT_MS + 5000);
    expect(env.api.ctx.events.size()).toBe(0);
  });

  it("a checkout whose client goes away frees its wait at once", async () => {
    await env.createSale({ items: [{ item_id: "gone", stock: 1 }] });
    const abort = new AbortController();
    const req = env
      .request("/checkout?user_id=g1&id=gone&wait=30000", { method: "POST", signal: abort.signal })
      .catch(() => null);
    for (let i = 0; i < 200 && env.api.ctx.events.size() < 1; i++) await sleep(10);
    expect(env.api.ctx.events.size()).toBe(1);
    const aborted = Date.now();
    abort.abort();
    await req;
    for (let i = 0; i < 200 && env.api.ctx.events.size() > 0; i++) await sleep(10);
    expect(env.api.ctx.events.size()).toBe(0);
    expect(Date.now() - aborted).toBeLessThan(2000);
  });
});

describe("request ids", () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv({ workers: 0 });
  });
  afterAll(async () => {
    await env?.close();
  });

  it("none is made for a request that neither sent one nor was logged; a sent one is echoed on the hot routes", async () => {
    expect((await env.request("/health")).headers.get("x-request-id")).toBeNull();
    await env.createSale({ items: [{ item_id: "R", stock: 1 }] });
    const plain = await env.request("/checkout?user_id=r1&id=R", { method: "POST" });
    expect(plain.status).toBe(202);
    expect(plain.headers.get("x-request-id")).toBeNull();
    expect(plain.headers.get("location")).toMatch(/^\/tickets\//);
    const traced = await env.request("/checkout?user_id=r2&id=R", {
      method: "POST",
      headers: { "x-request-id": "trace-7" },
    });
    expect(traced.status).toBe(202);
    expect(traced.headers.get("x-request-id")).toBe("trace-7");
    expect(traced.headers.get("location")).toMatch(/^\/tickets\//);
    const { ticket_id } = (await traced.json()) as Accepted;
    const poll = await env.request(`/tickets/${ticket_id}`, { headers: { "x-request-id": "trace-8" } });
    expect(poll.headers.get("x-request-id")).toBe("trace-8");
  });
});
