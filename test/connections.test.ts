import { Agent, request } from "node:http";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sleep } from "../shared/time.js";
import { createTestEnv, type TestEnv } from "../tools/harness/env.js";

// What one client can hold open (issue 13): long polls, checkout waits and event streams
// are bounded per client address, and a client that sends its headers too slowly is cut
// off. Another client is told apart by its address: loopback has a whole /8, so the
// second client connects from 127.0.0.2.

const CAP = 200;
const HEADERS_TIMEOUT_MS = 2000;

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv({
    env: {
      LOG_LEVEL: "fatal",
      MAX_WAITS_PER_CLIENT: String(CAP),
      HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
      REQUEST_TIMEOUT_MS: "3000",
      RATE_USER_PER_S: "0",
    },
  });
});
afterAll(async () => {
  await env?.close();
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  ms: number;
}

/** One HTTP request from a chosen local address, with its own keep-alive agent. */
function send(agent: Agent, method: string, path: string): Promise<Answer> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(`${env.url}${path}`, { method, agent }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, ms: performance.now() - started }),
      );
    });
    req.on("error", reject);
    req.end();
  });
}

const agentFrom = (localAddress: string, maxSockets: number) =>
  new Agent({ keepAlive: true, maxSockets, localAddress });

describe("open waits per client", () => {
  it("a client opening 5,000 long polls is refused beyond its cap while another client's checkouts go through", async () => {
    const saleId = await env.createSale({ items: [{ item_id: "poll", stock: 1000 }] });
    const first = await env.json<{ ticket_id: string }>("/checkout?user_id=p0&id=poll", { method: "POST" });
    // A ticket that will not change for a while: held behind a hang.
    await env.setPayments({ hang_rate: 1, timeout_ms: 6000, slots: 1 });
    const held = await env.json<{ ticket_id: string }>("/checkout?user_id=p1&id=poll", { method: "POST" });
    const greedy = agentFrom("127.0.0.1", 6000);
    const polite = agentFrom("127.0.0.2", 50);
    try {
      // How many waits are open at once, sampled while the crowd is at it: never above the cap.
      let most = 0;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          most = Math.max(most, env.api.ctx.waits.total());
          await sleep(5);
        }
      })();
      const polls = Array.from({ length: 5000 }, () =>
        send(greedy, "GET", `/tickets/${held.body.ticket_id}?wait=3000`),
      );
      // The other client checks out meanwhile, from its own address.
      await sleep(200);
      const checkouts: Answer[] = [];
      for (let i = 0; i < 100; i++)
        checkouts.push(await send(polite, "POST", `/checkout?user_id=c${i}&id=poll`));
      const answers = await Promise.all(polls);
      sampling = false;
      await sampler;
      const refused = answers.filter((a) => a.status === 429);
      // At most the cap were open at any time (on a slow machine some end and make room for
      // later ones within the 3 s); every other one was told to come back.
      expect(most).toBeLessThanOrEqual(CAP);
      expect(most).toBeGreaterThan(0);
      expect(answers.every((a) => a.status === 200 || a.status === 429)).toBe(true);
      expect(refused.length).toBeGreaterThan(5000 / 2);
      expect(refused.every((a) => a.headers["retry-after"] === "1")).toBe(true);
      expect(JSON.parse(refused[0]?.body ?? "{}")).toMatchObject({ error: { code: "rate_limited" } });
      expect(checkouts.map((a) => a.status)).toEqual(checkouts.map(() => 202));
      const p99 = checkouts.map((a) => a.ms).sort((a, b) => a - b)[98] ?? 0;
      console.info(`the other client's checkout p99: ${p99.toFixed(1)} ms`);
      // The bound is 100 ms; a loaded CI machine gets some room, the figure is printed.
      expect(p99).toBeLessThan(1000);
      // Once they end, the client may wait again.
      expect(env.api.ctx.waits.total()).toBe(0);
      expect((await send(greedy, "GET", `/tickets/${first.body.ticket_id}?wait=10`)).status).toBe(200);
    } finally {
      greedy.destroy();
      polite.destroy();
      await env.setPayments({ hang_rate: 0, timeout_ms: 3000, slots: 200 });
    }
    expect(saleId).toBeTruthy();
  });

  it("event streams and checkout waits count against the same cap", async () => {
    const saleId = await env.createSale({ items: [{ item_id: "stream", stock: 1000 }] });
    const tickets = async () => Number(await env.deps.redis.hget(env.deps.keys.sale(saleId), "tseq"));
    const t = await env.json<{ ticket_id: string }>("/checkout?user_id=s0&id=stream", { method: "POST" });
    await env.setPayments({ hang_rate: 1, timeout_ms: 6000, slots: 1 });
    const agent = agentFrom("127.0.0.3", CAP + 10);
    try {
      const held = await env.json<{ ticket_id: string }>("/checkout?user_id=s1&id=stream", {
        method: "POST",
      });
      const polls = Array.from({ length: CAP }, () =>
        send(agent, "GET", `/tickets/${held.body.ticket_id}?wait=2000`),
      );
      await sleep(300);
      expect((await send(agent, "GET", `/tickets/${t.body.ticket_id}/events`)).status).toBe(429);
      const before = await tickets();
      expect((await send(agent, "POST", "/checkout?user_id=s2&id=stream&wait=1000")).status).toBe(429);
      // Refused before anything was written: no ticket was made for it.
      expect(await tickets()).toBe(before);
      await Promise.all(polls);
    } finally {
      agent.destroy();
      await env.setPayments({ hang_rate: 0, timeout_ms: 3000, slots: 200 });
    }
  });
});

describe("slow clients", () => {
  it("a client sending its headers one byte a second is cut off within the headers timeout", async () => {
    const port = Number(new URL(env.url).port);
    const socket = connect(port, "127.0.0.1");
    const opened = performance.now();
    const closed = new Promise<number>((resolve) =>
      socket.on("close", () => resolve(performance.now() - opened)),
    );
    socket.on("error", () => {});
    const text =
      "GET /health HTTP/1.1\r\nHost: localhost\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let i = 0;
    const drip = setInterval(() => {
      if (socket.writable && i < text.length) socket.write(text[i++] ?? "");
    }, 1000);
    try {
      const ms = await closed;
      // Not before its timeout, and within a second or two after it (Node looks every second).
      expect(ms).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 100);
      expect(ms).toBeLessThan(HEADERS_TIMEOUT_MS + 3000);
      expect(i).toBeLessThan(text.length);
    } finally {
      clearInterval(drip);
      socket.destroy();
    }
  });

  it("an idle kept-alive connection outlives the headers timeout and is reused", async () => {
    const agent = agentFrom("127.0.0.4", 1);
    try {
      expect((await send(agent, "GET", "/health")).status).toBe(200);
      await sleep(HEADERS_TIMEOUT_MS + 1500);
      const again = await send(agent, "GET", "/health");
      expect(again.status).toBe(200);
    } finally {
      agent.destroy();
    }
  });
});

describe("connections per API process", () => {
  it("beyond MAX_CONNECTIONS a new connection is closed at once; once some close, requests are served again", async () => {
    const MAX = 20;
    const capped = await createTestEnv({ env: { LOG_LEVEL: "fatal", MAX_CONNECTIONS: String(MAX) } });
    const port = Number(new URL(capped.url).port);
    const open = (): Promise<{ socket: ReturnType<typeof connect>; closed: Promise<void> }> =>
      new Promise((resolve, reject) => {
        const socket = connect(port, "127.0.0.1");
        const closed = new Promise<void>((r) => socket.on("close", () => r()));
        socket.on("error", () => {});
        socket.once("connect", () => resolve({ socket, closed }));
        socket.once("error", reject);
      });
    const held: Awaited<ReturnType<typeof open>>[] = [];
    try {
      // Connections that send nothing yet: each counts until the headers timeout.
      for (let i = 0; i < MAX; i++) held.push(await open());
      const extra = await open();
      const cut = await Promise.race([extra.closed.then(() => true), sleep(2000).then(() => false)]);
      expect(cut).toBe(true);
      expect(held.length).toBe(MAX);
      for (const h of held.splice(0, 5)) h.socket.destroy();
      await sleep(200);
      expect((await capped.request("/health")).status).toBe(200);
    } finally {
      for (const h of held) h.socket.destroy();
      await capped.close();
    }
  });
});
