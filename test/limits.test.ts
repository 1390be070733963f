import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../tools/harness/env.js";

// The bounds that keep one request or one crowd from taking unbounded memory:
// body size, header size, long-poll wait, and the length of the line.

let env: TestEnv;
beforeAll(async () => {
  // No workers: accepted tickets stay queued, so the line only grows.
  env = await createTestEnv({ workers: 0, env: { LINE_FACTOR: "2", QUEUE_MAX: "6" } });
});
afterAll(async () => {
  await env?.close();
});

type ErrorBody = { error: { code: string; message: string } };
const errorOf = (code: string) => ({ error: { code, message: expect.stringMatching(/\S/) } });

/** Sends raw bytes and returns the status line, the headers and the body of the answer. */
async function raw(request: string) {
  const socket = connect(Number(new URL(env.url).port), "127.0.0.1");
  socket.write(request);
  let text = "";
  for await (const chunk of socket) text += String(chunk);
  const [head = "", body = ""] = text.split("\r\n\r\n");
  return { head, body };
}

describe("request body size", () => {
  it("a checkout body over 4 KB is 413 payload_too_large, unread", async () => {
    const pad = "p".repeat(5000);
    const res = await env.json<ErrorBody>("/checkout", {
      method: "POST",
      json: { user_id: "u1", item_id: "X", pad },
    });
    expect(res).toMatchObject({ status: 413, body: errorOf("payload_too_large") });
  });

  it("so is one sent in chunks, with no Content-Length to go by", async () => {
    const body = new ReadableStream({
      start(c) {
        for (let i = 0; i < 10; i++) c.enqueue(new TextEncoder().encode("x".repeat(1000)));
        c.close();
      },
    });
    const res = await env.request("/checkout", {
      method: "POST",
      body,
      headers: { "content-type": "application/json" },
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual(errorOf("payload_too_large"));
  });

  it("a purchase body over 4 KB is 413 payload_too_large too (public routes take what they need)", async () => {
    const res = await env.json<ErrorBody>("/purchase", {
      method: "POST",
      json: { code: "c".repeat(5000) },
    });
    expect(res).toMatchObject({ status: 413, body: errorOf("payload_too_large") });
  });

  it("a checkout body under 4 KB is read and judged on its content", async () => {
    const res = await env.json<ErrorBody>("/checkout", {
      method: "POST",
      json: { user_id: "u1", item_id: "X", pad: "p".repeat(3000) },
    });
    expect(res).toMatchObject({ status: 400, body: errorOf("invalid_request") });
    expect(res.body.error.message).toMatch(/pad|unrecognized|unknown/i);
  });

  it("an admin body may be large (a sale of 12,000 listed items) but not over 4 MB", async () => {
    const items = Array.from({ length: 12_000 }, (_, i) => ({
      item_id: `big${i}`,
      stock: 1,
      name: `Item ${i}`,
    }));
    expect(JSON.stringify({ items }).length).toBeGreaterThan(100_000);
    const created = await env.request("/admin/sales", { method: "POST", admin: true, json: { items } });
    expect(created.status).toBe(201);
    const huge = await env.json<ErrorBody>("/admin/sales", {
      method: "POST",
      admin: true,
      json: { items: 2, pad: "p".repeat(4 * 1024 * 1024 + 1) },
    });
    expect(huge).toMatchObject({ status: 413, body: errorOf("payload_too_large") });
  });
});

describe("header size", () => {
  const request = (headerBytes: number) =>
    raw(
      `GET /sales/current HTTP/1.1\r\nHost: x\r\nX-Pad: ${"h".repeat(headerBytes)}\r\nConnection: close\r\n\r\n`,
    );

  it("headers over Node's 16 KB are 400 invalid_request with the error body", async () => {
    const { head, body } = await request(17 * 1024);
    expect(head).toMatch(/^HTTP\/1\.1 400 /);
    expect(head).toMatch(/content-type: application\/json/i);
    expect(JSON.parse(body)).toEqual(errorOf("invalid_request"));
  });

  it("an HTTP/1.1 request without a Host header, or with two, is 400 invalid_request with the error body", async () => {
    for (const hosts of ["", "Host: x\r\nHost: y\r\n"]) {
      const { head, body } = await raw(`GET /health HTTP/1.1\r\n${hosts}Connection: close\r\n\r\n`);
      expect(head, hosts).toMatch(/^HTTP\/1\.1 400 /);
      expect(JSON.parse(body)).toEqual(errorOf("invalid_request"));
    }
  });

  it("a request target Hono cannot make a URL of (GET *) is 400 invalid_request with the error body", async () => {
    const { head, body } = await raw("GET * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    expect(head).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(body)).toEqual(errorOf("invalid_request"));
  });

  it("headers just under it are served", async () => {
    const { head } = await request(15 * 1024);
    expect(head).toMatch(/^HTTP\/1\.1 (200|404) /);
  });
});

describe("long-poll wait", () => {
  it("wait above 30000 ms or below 0 is 400; 30000 itself is accepted", async () => {
    for (const wait of ["30001", "-1", "1e9", "99999999999999999999"]) {
      const res = await env.json<ErrorBody>(`/tickets/1-1?wait=${wait}`);
      expect(res, wait).toMatchObject({ status: 400, body: errorOf("invalid_request") });
    }
    // Valid, so the lookup runs: no such ticket.
    const ok = await env.json<ErrorBody>("/tickets/1-1?wait=30000");
    expect(ok).toMatchObject({ status: 404, body: errorOf("ticket_not_found") });
  });

  it("a long poll on a ticket that does not change answers when its wait is over", async () => {
    await env.createSale({ items: [{ item_id: "W", stock: 5 }] });
    const t = await env.json<{ ticket_id: string }>("/checkout?user_id=waiter&id=W", { method: "POST" });
    const started = Date.now();
    const res = await env.json<{ status: string }>(`/tickets/${t.body.ticket_id}?wait=300`);
    expect(res.status).toBe(200);
    expect(res.body.status).toBe("queued");
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it("a long poll with ?seen= answers at once when the status is not the one seen, waits when it is", async () => {
    await env.createSale({ items: [{ item_id: "S", stock: 5 }] });
    const t = await env.json<{ ticket_id: string }>("/checkout?user_id=seer&id=S", { method: "POST" });
    const poll = async (q: string) => {
      const started = Date.now();
      const res = await env.json<{ status: string }>(`/tickets/${t.body.ticket_id}?${q}`);
      return { ...res, ms: Date.now() - started };
    };
    // Queued, and the client says it last saw it reserved: something changed, so no wait at all.
    const moved = await poll("wait=20000&seen=reserved");
    expect(moved).toMatchObject({ status: 200, body: { status: "queued" } });
    expect(moved.ms).toBeLessThan(10_000);
    const same = await poll("wait=300&seen=queued");
    expect(same).toMatchObject({ status: 200, body: { status: "queued" } });
    expect(same.ms).toBeGreaterThanOrEqual(250);
    for (const bad of ["seen=bogus&wait=100", "seen=&wait=100", "seen=QUEUED&wait=100"]) {
      expect(await poll(bad), bad).toMatchObject({ status: 400, body: errorOf("invalid_request") });
    }
  });
});

describe("queue length", () => {
  const checkout = (user: string, item: string) =>
    env.json<ErrorBody>(`/checkout?user_id=${user}&id=${item}`, { method: "POST" });

  it("an item's line holds LINE_FACTOR tickets per unit; then 503 overloaded with Retry-After", async () => {
    await env.createSale({ items: [{ item_id: "L", stock: 2 }] });
    const accepted = [];
    for (let i = 0; i < 4; i++) accepted.push((await checkout(`l${i}`, "L")).status);
    expect(accepted).toEqual([202, 202, 202, 202]);
    const full = await checkout("l4", "L");
    expect(full).toMatchObject({ status: 503, body: errorOf("overloaded") });
    expect(Number(full.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
  });

  it("a sale's queue holds QUEUE_MAX tickets in all; then 503 overloaded", async () => {
    await env.createSale({
      items: [
        { item_id: "Q1", stock: 10 },
        { item_id: "Q2", stock: 10 },
        { item_id: "Q3", stock: 10 },
      ],
    });
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await checkout(`q${i}`, `Q${(i % 3) + 1}`)).status);
    expect(statuses).toEqual([202, 202, 202, 202, 202, 202]);
    const full = await checkout("q6", "Q1");
    expect(full).toMatchObject({ status: 503, body: errorOf("overloaded") });
    expect(full.headers.get("retry-after")).toBeTruthy();
  });
});
