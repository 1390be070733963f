import http from "node:http";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TicketView } from "../shared/ticket/view.js";
import { sleep } from "../shared/time.js";
import { createProcessEnv, createTestEnv, type TestEnv } from "../tools/harness/env.js";
import { startWorker } from "../worker/start.js";

// The shopper's side of a ticket: long polls and event streams that answer the
// moment the ticket changes, thousands of them on one API process, and a place in
// line and an ETA that can be trusted.

interface SseEvent {
  event: string;
  ticket: TicketView;
  at: number;
}

/** Reads a ticket's event stream until the server closes it (or `signal` aborts). */
async function readEvents(url: string, signal?: AbortSignal, onEvent?: (e: SseEvent) => void) {
  const res = await fetch(url, signal ? { signal } : {}).catch((err: unknown) => {
    if (signal?.aborted) return null;
    throw err;
  });
  if (!res) return [];
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
  const events: SseEvent[] = [];
  const decoder = new TextDecoder();
  let buf = "";
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      for (let end = buf.indexOf("\n\n"); end >= 0; end = buf.indexOf("\n\n")) {
        const block = buf.slice(0, end);
        buf = buf.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (!event || !data) continue; // a heartbeat comment
        const e = { event, ticket: JSON.parse(data) as TicketView, at: Date.now() };
        events.push(e);
        onEvent?.(e);
      }
    }
  } catch (err) {
    if (!signal?.aborted) throw err;
  }
  return events;
}

async function checkout(env: { json: TestEnv["json"] }, user: string, item: string) {
  const r = await env.json<{ ticket_id: string; position: number; poll_after_ms: number }>(
    `/checkout?user_id=${user}&id=${item}`,
    { method: "POST" },
  );
  expect(r.status).toBe(202);
  return r.body;
}

describe("push on one API process (in-process system)", () => {
  let env: TestEnv;
  // Workers are started by each test, so a ticket can be held in line until the stream or poll is open.
  beforeAll(async () => {
    env = await createTestEnv({ workers: 0, env: { LINE_FACTOR: "100" } });
  });
  afterAll(async () => {
    await env?.close();
  });

  it("an event stream delivers every state in order and closes at the final one", async () => {
    await env.setPayments({ failure_rate: 0, latency_ms: { min: 30, max: 30 }, slots: 5 });
    await env.createSale({ items: [{ item_id: "sse", stock: 3 }] });
    const t = await checkout(env, "sse1", "sse");
    let worker: Awaited<ReturnType<typeof startWorker>> | undefined;
    // The stream's first event is the ticket now (queued: no worker yet); then a worker takes it.
    const events = await readEvents(`${env.url}/tickets/${t.ticket_id}/events`, undefined, (e) => {
      if (e.event === "queued") void startWorker(env.deps).then((w) => (worker = w));
    });
    try {
      expect(events.map((e) => e.event)).toEqual(["queued", "reserved", "paying", "purchased"]);
      expect(events.map((e) => e.ticket.status)).toEqual(["queued", "reserved", "paying", "purchased"]);
      expect(events[0]?.ticket.position).toBe(1);
      expect(events[3]?.ticket.purchase_id).toEqual(expect.any(String));
      const times = events.map((e) => Date.parse(e.ticket.updated_at));
      expect([...times].sort((x, y) => x - y)).toEqual(times);
    } finally {
      while (!worker) await sleep(10);
      await worker.close();
    }
    expect(env.api.ctx.events.size()).toBe(0);
  });

  it("a client that goes away leaves no wait behind", async () => {
    await env.createSale({ items: [{ item_id: "gone", stock: 1 }] });
    const t = await checkout(env, "gone1", "gone");
    const abort = new AbortController();
    let opened = false;
    const stream = readEvents(`${env.url}/tickets/${t.ticket_id}/events`, abort.signal, () => {
      opened = true;
    });
    const poll = env
      .request(`/tickets/${t.ticket_id}?wait=20000`, { signal: abort.signal })
      .catch(() => null);
    for (let i = 0; i < 200 && (env.api.ctx.events.size() < 2 || !opened); i++) await sleep(10);
    expect(env.api.ctx.events.size()).toBe(2);
    abort.abort();
    await Promise.all([stream, poll]);
    for (let i = 0; i < 100 && env.api.ctx.events.size() > 0; i++) await sleep(10);
    expect(env.api.ctx.events.size()).toBe(0);
  });

  it("a queued ticket's stream reads nothing while its line stands still, and follows it when it moves", async () => {
    await env.setPayments({ failure_rate: 0, hang_rate: 0, latency_ms: { min: 1500, max: 1500 }, slots: 5 });
    const saleId = await env.createSale({ items: [{ item_id: "still", stock: 2 }] });
    await checkout(env, "still1", "still");
    await checkout(env, "still2", "still");
    const third = await checkout(env, "still3", "still");
    const key = env.deps.keys.ticket(saleId, third.ticket_id.split("-")[1] ?? "");
    // Every read of the third ticket by the API, seen by Redis itself.
    // A single Redis here (tests run against one server, not a cluster).
    const monitor = await (env.deps.redis.duplicate() as Redis).monitor();
    const reads: number[] = [];
    monitor.on("monitor", (_time: string, args: string[]) => {
      if (args[0]?.toLowerCase() === "hgetall" && args[1] === key) reads.push(Date.now());
    });
    const readsIn = (from: number, to: number) => reads.filter((at) => at >= from && at <= to).length;
    let worker: Awaited<ReturnType<typeof startWorker>> | undefined;
    const windows: { from: number; to: number }[] = [];
    const events = await readEvents(`${env.url}/tickets/${third.ticket_id}/events`, undefined, (e) => {
      if (e.ticket.status !== "queued") return;
      // Each place shown, the line stands still a while (no worker yet; then two slow payments).
      const from = Date.now();
      windows.push({ from, to: from + 700 });
      if (windows.length === 1) void sleep(900).then(() => startWorker(env.deps).then((w) => (worker = w)));
    });
    try {
      expect(events.map((e) => [e.event, e.ticket.position])).toEqual([
        ["queued", 3],
        ["queued", 1],
        ["rejected", null],
      ]);
      expect(events[2]?.ticket.reason).toBe("sold_out");
      // Standing still: no read at all (a poll-paced stream would have read several times a window).
      for (const w of windows) expect(readsIn(w.from + 50, w.to)).toBe(0);
    } finally {
      while (!worker) await sleep(10);
      await worker.close();
      await monitor.disconnect();
    }
  });

  describe("a steady line (one slot, fixed 250 ms payments that decline, one unit handed down the line)", () => {
    const N = 12;
    // Long enough that every ticket is sampled at the front even on a busy machine.
    const LATENCY_MS = 250;
    interface Sample {
      at: number;
      seq: number;
      status: string;
      position: number | null;
      eta: number | null;
    }
    const rounds: Sample[][] = [];
    /** When each ticket left the line (its reserved or rejected event's updated_at). */
    const left = new Map<number, number>();

    beforeAll(async () => {
      await env.setPayments({
        failure_rate: 1,
        hang_rate: 0,
        latency_ms: { min: LATENCY_MS, max: LATENCY_MS },
        slots: 1,
      });
      await env.createSale({ items: [{ item_id: "line", stock: 1 }] });
      // The whole line is accepted before a worker runs, so every ticket is sampled while queued.
      const ids: string[] = [];
      for (let i = 0; i < N; i++) ids.push((await checkout(env, `line${i}`, "line")).ticket_id);
      const seqOf = (id: string) => Number(id.split("-")[1]);
      const streams = ids.map((id) =>
        readEvents(`${env.url}/tickets/${id}/events`, undefined, (e) => {
          if (e.event !== "queued" && !left.has(seqOf(id)))
            left.set(seqOf(id), Date.parse(e.ticket.updated_at));
        }),
      );
      // Each round reads the tickets from the back of the line to the front, one at a time: a
      // ticket ahead read later as queued was certainly queued when the one behind it was read.
      const back = [...ids].reverse();
      const sampling = (async () => {
        while (left.size < N) {
          const round: Sample[] = [];
          for (const id of back) {
            const t = (await env.json<TicketView>(`/tickets/${id}`)).body;
            round.push({
              at: Date.now(),
              seq: seqOf(id),
              status: t.status,
              position: t.position,
              eta: t.eta_ms,
            });
          }
          rounds.push(round);
          await sleep(10);
        }
      })();
      while (rounds.length === 0) await sleep(5);
      const worker = await startWorker(env.deps);
      try {
        await sampling;
        await Promise.all(streams);
      } finally {
        await worker.close();
      }
    }, 60_000);

    it("a position never under-states the line and reaches 1 before the ticket leaves it", () => {
      expect(rounds.length).toBeGreaterThan(N);
      const sawFront = new Set<number>();
      for (const round of rounds) {
        for (const [i, s] of round.entries()) {
          if (s.status !== "queued") continue;
          expect(s.position, `ticket ${s.seq} is queued with a position`).not.toBeNull();
          const aheadLater = round.slice(i + 1).filter((o) => o.status === "queued").length;
          expect(s.position, `ticket ${s.seq}`).toBeGreaterThanOrEqual(aheadLater + 1);
          if (s.position === 1) sawFront.add(s.seq);
        }
      }
      // Everyone but the first (served at once) waited, and was seen at the front first.
      const seqs = [...left.keys()].sort((x, y) => x - y);
      expect(seqs.slice(1).filter((q) => !sawFront.has(q))).toEqual([]);
    });

    it("an ETA is within a factor of 2 of the real wait", () => {
      const checked: string[] = [];
      // Steady: once a few tickets have gone (the first payments of a fresh worker are slower).
      // Judged on waits long enough to mean something.
      for (const round of rounds) {
        for (const s of round) {
          const out = left.get(s.seq);
          if (s.status !== "queued" || s.eta === null || out === undefined) continue;
          const real = out - s.at;
          const gone = [...left.values()].filter((t) => t <= s.at).length;
          if (gone < 4 || real < 4 * LATENCY_MS) continue;
          checked.push(`${s.seq}: eta ${s.eta} real ${real}`);
          expect(s.eta, checked.at(-1)).toBeGreaterThanOrEqual(real / 2);
          expect(s.eta, checked.at(-1)).toBeLessThanOrEqual(real * 2);
        }
      }
      expect(checked.length).toBeGreaterThanOrEqual(10);
    });
  });
});

describe("long polls on an API process of its own", () => {
  let env: Awaited<ReturnType<typeof createProcessEnv>>;
  // Workers are started by each test, so tickets stay queued until the waits are open.
  beforeAll(async () => {
    env = await createProcessEnv({ workers: 0 });
  });
  afterAll(async () => {
    await env?.close();
  });

  /** Redis connections named for this system (every process names its clients with the prefix). */
  const clients = async () => {
    const list = (await env.deps.redis.client("LIST")) as string;
    return list.split("\n").filter((l) => l.includes(` name=${env.cfg.REDIS_PREFIX}:`)).length;
  };

  it("a long poll answers within 50 ms of the ticket's change", async () => {
    await env.setPayments({ failure_rate: 0, latency_ms: { min: 150, max: 150 }, slots: 5 });
    await env.createSale({ items: [{ item_id: "lp", stock: 1 }] });
    const a = await checkout(env, "lp1", "lp");
    const b = await checkout(env, "lp2", "lp");
    const lags: number[] = [];
    const follow = async (id: string) => {
      let status = "queued";
      while (!["purchased", "rejected", "failed"].includes(status)) {
        const r = await env.json<TicketView>(`/tickets/${id}?wait=10000`);
        const answered = Date.now();
        expect(r.status).toBe(200);
        expect(r.body.status, `${id} changed before the wait ended`).not.toBe(status);
        lags.push(answered - Date.parse(r.body.updated_at));
        status = r.body.status;
      }
      return status;
    };
    const polls = [follow(a.ticket_id), follow(b.ticket_id)];
    await sleep(200); // both waits are open on queued tickets
    const worker = await env.startWorker();
    try {
      // a: queued → reserved/paying → purchased; b waits for the one unit and is rejected when it sells.
      expect(await Promise.all(polls)).toEqual(["purchased", "rejected"]);
    } finally {
      await worker.kill("SIGTERM");
    }
    expect(lags.length).toBeGreaterThanOrEqual(3);
    expect(Math.max(...lags), `lags ${lags.join(", ")} ms`).toBeLessThanOrEqual(50);
  }, 60_000);

  it("hold 5,000 open waits without a Redis connection each, and answer them all when the tickets move", async () => {
    const WAITS = 5000;
    const TICKETS = 50;
    await env.createSale({ items: [{ item_id: "crowd", stock: TICKETS }], user_limit: 1 });
    const ids: string[] = [];
    for (let i = 0; i < TICKETS; i++) ids.push((await checkout(env, `c${i}`, "crowd")).ticket_id);
    // One long poll first, so the API's subscriber is up before counting.
    await env.json(`/tickets/${ids[0]}?wait=10`);
    const before = await clients();

    const agent = new http.Agent({ keepAlive: true, maxSockets: WAITS + 100 });
    const { port } = new URL(env.url);
    let workerStarted = Number.POSITIVE_INFINITY;
    let sent = 0;
    const answers = await (async () => {
      const polls = Array.from(
        { length: WAITS },
        (_, i) =>
          new Promise<{ status: number; ticket: TicketView; at: number; sentAt: number }>(
            (resolve, reject) => {
              let sentAt = Number.NaN;
              const req = http.get(
                { host: "127.0.0.1", port, path: `/tickets/${ids[i % TICKETS]}?wait=30000`, agent },
                (res) => {
                  let body = "";
                  res.setEncoding("utf8");
                  res.on("data", (d: string) => {
                    body += d;
                  });
                  res.on("end", () =>
                    resolve({
                      status: res.statusCode ?? 0,
                      ticket: JSON.parse(body) as TicketView,
                      at: Date.now(),
                      sentAt,
                    }),
                  );
                },
              );
              req.on("finish", () => {
                sentAt = Date.now();
                sent++;
              });
              req.on("error", reject);
            },
          ),
      );
      const deadline = Date.now() + 30_000;
      while (sent < WAITS && Date.now() < deadline) await sleep(50);
      expect(sent).toBe(WAITS);
      await sleep(1500); // let the API take in the last of them
      const during = await clients();
      expect(
        during - before,
        `redis clients ${before} before, ${during} during the waits`,
      ).toBeLessThanOrEqual(1);
      workerStarted = Date.now();
      await env.startWorker();
      return Promise.all(polls);
    })();
    agent.destroy();

    expect(answers.every((a) => a.status === 200)).toBe(true);
    // Nobody was answered before anything moved, and everyone was once it did.
    expect(answers.filter((a) => a.at < workerStarted)).toEqual([]);
    expect(answers.filter((a) => a.ticket.status === "queued")).toEqual([]);
    // Answered by the push, not by its wait running out: a wait of 30 s that timed out
    // would answer 30 s after it was sent (with the ticket long final, so the status alone
    // cannot tell). A bound on the wait itself, not a speed: a loaded machine only narrows it.
    const longest = Math.max(...answers.map((a) => a.at - a.sentAt));
    expect(longest, "every wait answered by its ticket's move, not its timeout").toBeLessThan(29_000);
  }, 90_000);
});
