import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { verify } from "hono/jwt";
import { describe, expect, it } from "vitest";
import { baselineApp, serveBaseline } from "../bench/baseline-app.js";
import { cpuFigures } from "../bench/measure.js";
import { createSale } from "../loadtest/api.js";
import { hotChoice, rankOf, seededRandom, uniformChoice, zipfCdf, zipfChoice } from "../loadtest/choice.js";
import { parseCli } from "../loadtest/cli.js";
import { type ClientCtx, checkoutWaitMs, type UserPlan } from "../loadtest/client.js";
import { payHold, twoStepWait } from "../loadtest/hold.js";
import { createHttp, createLanes, forUser, type HttpAnswer, type HttpClient } from "../loadtest/http.js";
import { checkInvariants, type InvariantInput } from "../loadtest/invariants.js";
import { defaultOptions, validate } from "../loadtest/options.js";
import { progressLine } from "../loadtest/progress.js";
import { buildReport, renderText } from "../loadtest/report.js";
import { runLoad } from "../loadtest/run.js";
import { arrivalsBy, pacer, rateAt } from "../loadtest/schedule.js";
import { createStats, percentile, perSecond, summarize } from "../loadtest/stats.js";
import { shopperTokens } from "../loadtest/tokens.js";

describe("arrival schedule", () => {
  const ramp = { kind: "rate" as const, rate: 100, rampUpS: 2, holdS: 3, rampDownS: 1 };

  it("ramps up linearly, holds, and ramps down to zero", () => {
    expect(rateAt(ramp, 0)).toBe(0);
    expect(rateAt(ramp, 1)).toBe(50);
    expect(rateAt(ramp, 3)).toBe(100);
    expect(rateAt(ramp, 5.5)).toBe(50);
    expect(rateAt(ramp, 6)).toBe(0);
  });

  it("counts arrivals as the area under the rate", () => {
    expect(arrivalsBy(ramp, 1)).toBe(25);
    expect(arrivalsBy(ramp, 2)).toBe(100);
    expect(arrivalsBy(ramp, 5)).toBe(400);
    expect(arrivalsBy(ramp, 6)).toBe(450);
    expect(arrivalsBy(ramp, 60)).toBe(450);
    expect(arrivalsBy({ ...ramp, rampUpS: 0, rampDownS: 0 }, 1.5)).toBe(150);
  });

  it("paces starts to the profile in ticks and never beyond the user limit", () => {
    const p = pacer(ramp, 1000);
    let started = 0;
    const byS: number[] = [];
    for (let t = 0; t <= 7; t += 0.005) {
      started += p.due(t);
      byS.push(started);
    }
    expect(started).toBe(450);
    // Half a second in, a quarter of a second's full rate has arrived: 100 * 0.5² / 4.
    expect(byS[100]).toBe(6);
    const capped = pacer(ramp, 120);
    let n = 0;
    for (let t = 0; t <= 7; t += 0.01) n += capped.due(t);
    expect(n).toBe(120);
  });
});

describe("item choice", () => {
  it("draws Zipf ranks in proportion to 1/k^s", () => {
    const items = Array.from({ length: 10 }, (_, i) => ({ id: `i${i + 1}`, stock: 1_000_000 }));
    const choice = zipfChoice(items, 1, seededRandom(7));
    const counts = new Map<string, number>();
    const draws = 100_000;
    for (let i = 0; i < draws; i++) {
      const id = choice.pick() as string;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    const h10 = Array.from({ length: 10 }, (_, k) => 1 / (k + 1)).reduce((a, b) => a + b);
    for (const k of [1, 2, 5, 10]) {
      expect((counts.get(`i${k}`) ?? 0) / draws).toBeCloseTo(1 / k / h10, 2);
    }
  });

  it("finds the rank whose cumulative weight first reaches u", () => {
    const cdf = zipfCdf(4, 0); // uniform: 0.25, 0.5, 0.75, 1
    expect(rankOf(cdf, 0)).toBe(0);
    expect(rankOf(cdf, 0.25)).toBe(0);
    expect(rankOf(cdf, 0.26)).toBe(1);
    expect(rankOf(cdf, 1)).toBe(3);
  });

  it("stops offering items seen sold out or bought down to zero", () => {
    const items = [
      { id: "a", stock: 1 },
      { id: "b", stock: 2 },
      { id: "c", stock: 0 },
    ];
    for (const choice of [uniformChoice(items, seededRandom(1)), zipfChoice(items, 1.2, seededRandom(1))]) {
      expect(choice.remaining()).toBe(2);
      choice.bought("a");
      for (let i = 0; i < 50; i++) expect(choice.pick()).toBe("b");
      choice.bought("b");
      expect(choice.pick()).toBe("b");
      choice.soldOut("b");
      expect(choice.pick()).toBeNull();
    }
  });

  it("keeps everyone on the hot item, sold out or not", () => {
    const hot = hotChoice("h");
    hot.soldOut("h");
    expect(hot.pick()).toBe("h");
  });

  it("picks uniformly", () => {
    const items = Array.from({ length: 4 }, (_, i) => ({ id: String(i), stock: 1000 }));
    const choice = uniformChoice(items, seededRandom(3));
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 40_000; i++) {
      const k = Number(choice.pick());
      counts[k] = (counts[k] ?? 0) + 1;
    }
    for (const c of counts) expect(c / 40_000).toBeCloseTo(0.25, 1);
  });
});

describe("percentiles", () => {
  it("uses the nearest rank", () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 90)).toBe(90);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile(values, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNull();
    expect(percentile([1, 2, 3], 50)).toBe(2);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
  });

  it("buckets checkout answers by second since the first checkout", () => {
    const at = [1000, 1500, 1999, 2000, 4100];
    const latency = [5, 1, 3, 7, 2];
    expect(perSecond(at, latency, 1000)).toEqual([
      { s: 0, checkouts: 3, p50_ms: 3, p99_ms: 5 },
      { s: 1, checkouts: 1, p50_ms: 7, p99_ms: 7 },
      { s: 2, checkouts: 0, p50_ms: null, p99_ms: null },
      { s: 3, checkouts: 1, p50_ms: 2, p99_ms: 2 },
    ]);
  });

  it("summarizes unsorted samples", () => {
    const s = summarize([5, 1, 4, 2, 3, 10, 9, 8, 7, 6]);
    expect(s).toEqual({ count: 10, p50: 5, p90: 9, p99: 10, max: 10, mean: 5.5 });
    expect(summarize([]).p50).toBeNull();
  });
});

function fabricatedRun() {
  const stats = createStats(seededRandom(1));
  stats.soldOutTarget = 2;
  const answer = (status: number, code: string | null, ms: number) => {
    stats.checkoutSent();
    stats.checkoutAnswer(status, code, ms);
  };
  answer(202, null, 4);
  stats.accepted("1-1", "u1");
  answer(202, null, 6);
  stats.accepted("1-2", "u2");
  answer(409, "sold_out", 2);
  answer(503, "overloaded", 3);
  stats.networkError("ECONNRESET");
  stats.poll(200);
  stats.poll(200);
  stats.final("purchased", null, 40, "u1", "1-1");
  stats.final("purchased", null, 60, "u2", "1-2");
  return stats;
}

describe("report", () => {
  it("counts answers, tickets and latencies, and renders them as text and JSON", () => {
    const stats = fabricatedRun();
    const invariants = checkInvariants({
      sale: { sale_id: "1", user_limit: 10, stock: { total: 2, available: 0, reserved: 0, sold: 2 } },
      apiPurchases: new Map([
        ["u1", ["1-1"]],
        ["u2", ["1-2"]],
      ]),
      seenPurchases: stats.purchasesByUser,
      crowdPurchases: stats.purchases,
      unfinished: 0,
      sampledTickets: [],
    });
    const r = buildReport(stats, {
      target: "http://127.0.0.1:3000",
      sale: { sale_id: "1", total: 2, user_limit: 10 },
      settings: {},
      startedAt: new Date("2026-01-01T00:00:00Z"),
      soldUnits: 2,
      invariants,
    });
    expect(r.requests.checkouts).toBe(4);
    expect(r.requests.checkout_by_status).toEqual({ "202": 2, "409": 1, "503": 1 });
    expect(r.requests.errors_by_code).toEqual({ sold_out: 1, overloaded: 1, "network:ECONNRESET": 1 });
    expect(r.tickets).toEqual({ accepted: 2, final_by_status: { purchased: 2 }, reasons: {}, unfinished: 0 });
    expect(r.sold.units).toBe(2);
    expect(r.sold.sold_out_s).not.toBeNull();
    expect(r.latency_ms.checkout).toMatchObject({ count: 4, p50: 3, max: 6 });
    expect(r.latency_ms.ticket_to_final).toMatchObject({ count: 2, p50: 40, p99: 60 });
    expect(r.invariants?.ok).toBe(true);
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);

    const text = renderText(r);
    expect(text).toContain("checkouts   4 answered: 202 2, 409 1, 503 1");
    expect(text).toContain("refusals    sold_out 1, overloaded 1, network:ECONNRESET 1");
    expect(text).toContain("tickets     2 accepted; final: purchased 2; unfinished 0");
    expect(text).toContain("checkout    p50 3  p90 6  p99 6  max 6 ms  (4 samples)");
    // 4 checkouts and 2 polls for 2 purchases.
    expect(r.requests).toMatchObject({ total: 6, per_purchase: 3, checkouts_final: 0 });
    expect(text).toContain(
      "requests    6 in all, 3 per purchase; 0 checkouts answered with the final ticket",
    );
    expect(text).toContain("invariants  all hold");
    expect(text).toMatch(/sold {8}2 units \(the crowd saw 2 purchases\); sold out after [0-9.]+ s/);
  });
});

describe("invariant check", () => {
  const good = (): InvariantInput => ({
    sale: { sale_id: "1", user_limit: 2, stock: { total: 10, available: 4, reserved: 0, sold: 6 } },
    apiPurchases: new Map([
      ["a", ["1-1", "1-2"]],
      ["b", ["1-3"]],
    ]),
    seenPurchases: new Map([
      ["a", ["1-2", "1-1"]],
      ["b", ["1-3"]],
    ]),
    crowdPurchases: 3,
    unfinished: 0,
    sampledTickets: [{ ticketId: "1-9", status: "rejected" }],
  });
  const failed = (input: InvariantInput) =>
    checkInvariants(input)
      .checks.filter((c) => !c.ok)
      .map((c) => c.name);

  it("passes a sale at rest whose numbers add up", () => {
    expect(checkInvariants(good())).toMatchObject({ ok: true });
  });

  it("names each broken invariant", () => {
    const lost = good();
    lost.sale = { sale_id: "1", user_limit: 2, stock: { total: 10, available: 5, reserved: 0, sold: 6 } };
    expect(failed(lost)).toEqual(["stock conservation"]);

    const busy = good();
    busy.sale = { sale_id: "1", user_limit: 2, stock: { total: 10, available: 3, reserved: 1, sold: 6 } };
    expect(failed(busy)).toEqual(["at rest"]);

    const over = good();
    over.sale = { sale_id: "1", user_limit: 2, stock: { total: 5, available: -1, reserved: 0, sold: 6 } };
    expect(failed(over)).toEqual(["no oversell"]);

    const greedy = good();
    greedy.apiPurchases.set("a", ["1-1", "1-2", "1-4"]);
    expect(failed(greedy)).toEqual(["per-user limit", "purchases recorded"]);

    const twice = good();
    twice.apiPurchases.set("b", ["1-3", "1-3"]);
    expect(failed(twice)).toEqual(["one purchase per ticket", "purchases recorded"]);

    const forgotten = good();
    forgotten.apiPurchases.set("b", []);
    expect(failed(forgotten)).toEqual(["purchases recorded"]);

    const stuck = good();
    stuck.unfinished = 1;
    stuck.sampledTickets.push({ ticketId: "1-10", status: "queued" });
    expect(failed(stuck)).toEqual(["tickets final"]);

    const phantom = good();
    phantom.crowdPurchases = 7;
    expect(failed(phantom)).toEqual(["crowd purchases within sold"]);

    expect(failed({ ...good(), sale: null })).toEqual(["sale readable"]);
  });

  it("skips the seen-versus-listed comparison when users did not follow their tickets", () => {
    const input = { ...good(), seenPurchases: null };
    input.apiPurchases.set("b", []);
    expect(checkInvariants(input).checks.map((c) => c.name)).not.toContain("purchases recorded");
  });
});

describe("command line", () => {
  it("reads a ramped rate and buying up to the limit", () => {
    const o = parseCli(
      [
        "--rate",
        "500",
        "--ramp-up",
        "2",
        "--ramp-down",
        "1",
        "--duration",
        "10",
        "--buy",
        "limit",
        "--latency",
        "5-20",
      ],
      { ADMIN_PASSWORD: "pw" },
    );
    expect(o.arrival).toEqual({ kind: "rate", rate: 500, rampUpS: 2, holdS: 7, rampDownS: 1 });
    expect(o.plan.buyUpTo).toBe(Number.POSITIVE_INFINITY);
    expect(o.payments).toEqual({ latency_ms: { min: 5, max: 20 } });
    expect(o.admin).toEqual({ user: "admin", password: "pw" });
    expect(validate(o)).toEqual([]);
  });

  it("refuses a target off this machine unless told otherwise", () => {
    const o = parseCli(["--url", "http://example.com:3000"]);
    expect(validate(o).join()).toMatch(/not this machine/);
    expect(validate({ ...o, allowRemote: true })).toEqual([]);
    expect(validate(parseCli(["--url", "http://[::1]:3000"]))).toEqual([]);
    expect(() => parseCli(["--users", "many"])).toThrow(/--users/);
  });

  it("targets PORT when no --url is given, and puts the payment settings back unless told to keep them", () => {
    expect(parseCli([], { PORT: "4123" }).url).toBe("http://127.0.0.1:4123");
    expect(parseCli([], {}).url).toBe("http://127.0.0.1:3000");
    expect(parseCli(["--url", "http://127.0.0.1:5000"], { PORT: "4123" }).url).toBe("http://127.0.0.1:5000");
    expect(parseCli([], {}).restorePayments).toBe(true);
    expect(parseCli(["--keep-payments"], {}).restorePayments).toBe(false);
  });
});

describe("two_step options", () => {
  const sale = ["--admin-password", "pw", "--create-sale", "--items", "50"];

  it("reads the checkout mode, the hold and the abandon rate", () => {
    const o = parseCli([...sale, "--mode", "two_step", "--hold-s", "2", "--abandon-rate", "0.3"]);
    expect(o.createSale).toMatchObject({ items: 50, checkoutMode: "two_step", holdS: 2 });
    expect(o.plan.abandonRate).toBe(0.3);
    expect(validate(o)).toEqual([]);
    const plain = parseCli(sale);
    expect(plain.createSale).not.toHaveProperty("checkoutMode");
    expect(plain.createSale).not.toHaveProperty("holdS");
    expect(plain.plan.abandonRate).toBe(0);
    expect(validate(parseCli([...sale, "--mode", "direct"]))).toEqual([]);
  });

  it("refuses --hold-s unless the sale is two_step, naming the fix", () => {
    for (const extra of [[], ["--mode", "direct"]]) {
      const bad = validate(parseCli([...sale, ...extra, "--hold-s", "5"]));
      expect(bad).toEqual(["--hold-s: only for a two_step sale; add --mode two_step"]);
    }
    for (const hold of ["0", "1.5", "3601"]) {
      expect(validate(parseCli([...sale, "--mode", "two_step", "--hold-s", hold])).join()).toMatch(
        /--hold-s: must be a whole number of seconds from 1 to 3600/,
      );
    }
  });

  it("refuses an unknown mode, an abandon rate outside 0..1, and sale flags without --create-sale", () => {
    expect(validate(parseCli([...sale, "--mode", "later"])).join()).toMatch(
      /--mode: one of direct, two_step/,
    );
    for (const rate of ["-0.1", "1.5"]) {
      expect(validate(parseCli([`--abandon-rate=${rate}`])).join()).toMatch(
        /--abandon-rate: must be from 0 to 1/,
      );
    }
    for (const rate of ["0", "1"]) expect(validate(parseCli(["--abandon-rate", rate]))).toEqual([]);
    expect(() => parseCli(["--abandon-rate", "half"])).toThrow(/--abandon-rate/);
    expect(() => parseCli(["--mode", "two_step"])).toThrow(/add --create-sale/);
    expect(() => parseCli(["--hold-s", "5"])).toThrow(/add --create-sale/);
  });

  it("sends checkout_mode and hold_s to POST /admin/sales only when asked", async () => {
    const { http, sent } = fakeHttp(() => ({ status: 201, body: {}, retryAfterS: null }));
    const base = { items: 5, stockPerItem: 1, userLimit: 10, durationS: 60 };
    await createSale(http, base);
    await createSale(http, { ...base, checkoutMode: "two_step", holdS: 3 });
    expect(sent.map((s) => s.body)).toEqual([
      { items: 5, stock_per_item: 1, user_limit: 10, duration_s: 60 },
      { items: 5, stock_per_item: 1, user_limit: 10, duration_s: 60, checkout_mode: "two_step", hold_s: 3 },
    ]);
  });
});

describe("paying a hold", () => {
  const busy: HttpAnswer = { status: 503, body: { error: { code: "overloaded" } }, retryAfterS: 0 };
  const ok: HttpAnswer = { status: 202, body: { ticket_id: "1-1", status: "reserved" }, retryAfterS: null };
  const gone: HttpAnswer = { status: 404, body: { error: { code: "code_not_found" } }, retryAfterS: null };

  it("posts the code once, again only after a busy answer, and counts every answer", async () => {
    const stats = createStats();
    const answers = [busy, ok];
    const { http, sent } = fakeHttp(() => answers.shift() ?? ok);
    const signal = new AbortController().signal;
    await payHold({ http, stats, signal, maxBackoffMs: 1000 }, "1-1.s/e+c", stats.now() + 5000);
    expect(sent.map((s) => `${s.method} ${s.path}`)).toEqual([
      "POST /purchase?code=1-1.s%2Fe%2Bc",
      "POST /purchase?code=1-1.s%2Fe%2Bc",
    ]);
    expect(stats.purchaseRequests).toEqual({
      answered: 2,
      byStatus: { "202": 1, "503": 1 },
      byCode: { overloaded: 1 },
    });

    const expired = fakeHttp(() => gone);
    await payHold({ http: expired.http, stats, signal, maxBackoffMs: 1000 }, "c", stats.now() + 5000);
    expect(expired.sent).toHaveLength(1);
    // A busy system past the hold's end: no point asking again.
    const late = fakeHttp(() => ({ ...busy, retryAfterS: 1 }));
    await payHold({ http: late.http, stats, signal, maxBackoffMs: 1000 }, "c", stats.now() + 500);
    expect(late.sent).toHaveLength(1);
    expect(stats.purchaseRequests.byCode).toEqual({ overloaded: 2, code_not_found: 1 });
  });

  it("looks at a two_step ticket at once, then never waits so long in line that a hold could pass unseen", () => {
    const ctx = (holdMs: number | null) => ({ holdMs, plan: { pollWaitMs: 5000 } }) as ClientCtx;
    expect(twoStepWait(ctx(1000), null)).toBe(0);
    expect(twoStepWait(ctx(1000), { status: "queued", code: null })).toBe(250);
    expect(twoStepWait(ctx(60_000), { status: "queued", code: null })).toBe(5000);
    expect(twoStepWait(ctx(null), { status: "queued", code: null })).toBe(5000);
    expect(twoStepWait(ctx(60_000), { status: "reserved", code: null })).toBe(100);
    expect(twoStepWait(ctx(1000), { status: "reserved", code: "1-1.x" })).toBe(5000);
    expect(twoStepWait(ctx(1000), { status: "paying", code: "1-1.x" })).toBe(5000);
  });

  it("shows holds and purchase answers in the report, and leaves a direct sale's report as it was", () => {
    const stats = fabricatedRun();
    const meta = {
      target: "http://127.0.0.1:3000",
      sale: null,
      settings: {},
      startedAt: new Date(),
      soldUnits: 2,
      invariants: null,
    };
    expect(renderText(buildReport(stats, meta))).not.toContain("holds");
    stats.held();
    stats.held();
    stats.held();
    stats.abandoned();
    stats.purchaseAnswer(202, null);
    stats.purchaseAnswer(404, "code_not_found");
    stats.purchaseNetworkError("ECONNRESET");
    const r = buildReport(stats, meta);
    expect(r.holds).toEqual({ held: 3, abandoned: 1 });
    expect(r.requests).toMatchObject({
      purchase_requests: 2,
      purchase_by_status: { "202": 1, "404": 1 },
      purchase_errors_by_code: { code_not_found: 1, "network:ECONNRESET": 1 },
    });
    const text = renderText(r);
    expect(text).toContain("holds       3 held, 1 abandoned");
    expect(text).toContain(
      "purchase    2 answered: 202 1, 404 1; errors code_not_found 1, network:ECONNRESET 1",
    );
  });
});

/** An HttpClient that records what is sent and answers with `answer()`. */
function fakeHttp(answer: () => HttpAnswer) {
  const sent: { method: string; path: string; body: unknown }[] = [];
  const http: HttpClient = {
    base: new URL("http://127.0.0.1:1"),
    async send(method, path, opts) {
      sent.push({ method, path, body: opts?.body });
      return answer();
    },
    abortAll() {},
    close() {},
  };
  return { http, sent };
}

describe("progress line", () => {
  it("shows how far the run is and the rates since the last line", () => {
    const stats = fabricatedRun();
    stats.users.done = 5;
    const line = progressLine(
      stats,
      { at: stats.now() - 1000, answered: 0, accepted: 0, purchases: 0 },
      {
        users: 10,
        durationS: 3600,
        width: 200,
      },
    );
    expect(line).toMatch(
      /^\[#{10}\.{10}\] [0-9.]+s users 5\/10 \| [0-9]+ co\/s [0-9]+ acc\/s [0-9]+ buy\/s \| bought 2 \| 202:2 409:1 503:1$/,
    );
    expect(
      progressLine(
        stats,
        { at: 0, answered: 0, accepted: 0, purchases: 0 },
        { users: 10, durationS: 1, width: 20 },
      ),
    ).toHaveLength(20);
  });
});

describe("one request per purchase", () => {
  const plan = (p: Partial<UserPlan> = {}): UserPlan => ({ ...defaultOptions().plan, ...p });

  it("waits at checkout only when following tickets of a direct sale, never past the ticket's time", () => {
    expect(checkoutWaitMs({ plan: plan(), holdMs: null })).toBe(5000);
    expect(checkoutWaitMs({ plan: plan({ ticketTimeoutMs: 800 }), holdMs: null })).toBe(800);
    expect(checkoutWaitMs({ plan: plan({ waitAtCheckout: false }), holdMs: null })).toBe(0);
    expect(checkoutWaitMs({ plan: plan({ poll: false }), holdMs: null })).toBe(0);
    // Two_step: checkout, then poll, as before.
    expect(checkoutWaitMs({ plan: plan(), holdMs: 30_000 })).toBe(0);
  });

  it("reads --checkout-then-poll, and waits at checkout without it", () => {
    expect(parseCli([]).plan.waitAtCheckout).toBe(true);
    expect(parseCli(["--checkout-then-poll"]).plan.waitAtCheckout).toBe(false);
    expect(parseCli(["--no-poll"]).plan).toMatchObject({ poll: false, waitAtCheckout: true });
  });

  it("the bare app answers a checkout with ?wait with its final ticket, and refuses a bad wait", async () => {
    const app = baselineApp();
    await app.request("/admin/sales", { method: "POST", body: JSON.stringify({ items: 3 }) });
    const waited = await app.request("/checkout?user_id=u1&id=1&wait=2000", { method: "POST" });
    expect(waited.status).toBe(202);
    expect(await waited.json()).toMatchObject({ status: "purchased", position: null, poll_after_ms: 0 });
    const plain = await app.request("/checkout?user_id=u1&id=2", { method: "POST" });
    expect(await plain.json()).toMatchObject({ status: "queued", position: 1 });
    for (const wait of ["-1", "30001", "1.5", "soon"]) {
      const bad = await app.request(`/checkout?user_id=u1&id=3&wait=${wait}`, { method: "POST" });
      expect(bad.status).toBe(400);
    }
  });

  it("buys with one checkout per purchase by default, and with a checkout and a poll when told", async () => {
    const served = await serveBaseline(0);
    const run = (p: Partial<UserPlan>) =>
      runLoad({
        url: `http://127.0.0.1:${served.port}`,
        admin: { user: "admin", password: "pw" },
        createSale: { items: 40, stockPerItem: 1, userLimit: 10, durationS: 600 },
        users: 8,
        arrival: { kind: "concurrency", concurrency: 8 },
        plan: { buyUpTo: 5, retries: 100, ...p },
        durationS: 10,
        drainS: 5,
        checkUsers: "all",
      });
    try {
      const waited = await run({});
      expect(waited.invariants?.ok).toBe(true);
      expect(waited.sold.purchases_seen).toBe(40);
      expect(waited.requests.polls).toBe(0);
      expect(waited.requests.checkouts_final).toBe(waited.tickets.accepted);
      // Every request a checkout: one per purchase, plus the refusals of items another shopper got first.
      expect(waited.requests.total).toBe(waited.requests.checkouts);
      expect(waited.requests.per_purchase).toBe(Math.round((waited.requests.checkouts / 40) * 100) / 100);

      const polled = await run({ waitAtCheckout: false });
      expect(polled.invariants?.ok).toBe(true);
      expect(polled.sold.purchases_seen).toBe(40);
      expect(polled.requests.checkouts_final).toBe(0);
      expect(polled.requests.polls).toBe(polled.tickets.accepted);
      expect(polled.requests.total).toBe(polled.requests.checkouts + polled.tickets.accepted);
    } finally {
      await served.close();
    }
  });
});

describe("bench CPU figures", () => {
  const cpuS = { api: 6, worker0: 2, worker1: 1, scheduler: 0.5, redis: 3, postgres: 1.5, generator: 9 };

  it("counts the system's own processes per purchase, the generator left out", () => {
    expect(cpuFigures(cpuS, "purchase", 10_000, "system")).toEqual({
      cpu_ms_per_purchase: 1.4,
      api_cpu_ms_per_purchase: 0.6,
      worker_cpu_ms_per_purchase: 0.3,
      redis_cpu_ms_per_purchase: 0.3,
      postgres_cpu_ms_per_purchase: 0.15,
    });
  });

  it("counts the bare app alone for the baseline, and nothing without a count", () => {
    expect(cpuFigures({ baseline: 1.5, generator: 4 }, "purchase", 10_000, "baseline")).toEqual({
      cpu_ms_per_purchase: 0.15,
    });
    expect(cpuFigures(cpuS, "accepted", 0, "system").cpu_ms_per_accepted).toBeNull();
  });
});

describe("shopper tokens (--jwt-secret)", () => {
  const SECRET = "a-test-secret-of-at-least-32-characters";
  const ADMIN = { user: "admin", password: "pw" };

  /** The `sub` and `exp` of a `Bearer` header, verified with the secret (HS256 only). */
  const subOf = async (authorization: string | undefined) => {
    expect(authorization).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
    const payload = await verify((authorization as string).slice("Bearer ".length), SECRET, "HS256");
    return { sub: payload.sub, exp: payload.exp as number };
  };

  /** A node:http server that answers `{}` and records each request's Authorization header. */
  async function recorder() {
    const seen: { method: string; path: string; authorization: string | undefined }[] = [];
    const server: Server = createServer((req, res) => {
      seen.push({ method: req.method ?? "", path: req.url ?? "", authorization: req.headers.authorization });
      res.setHeader("content-type", "application/json");
      res.end("{}");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const base = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return { seen, base, close: () => new Promise<void>((r) => server.close(() => r())) };
  }

  it("sends each shopper's requests with a bearer token whose verified sub is that user; admin keeps Basic", async () => {
    const srv = await recorder();
    const tokens = shopperTokens(SECRET);
    const lanes = createLanes(srv.base, { admin: ADMIN, tokens });
    const ops = createHttp(srv.base, { connections: 2, admin: ADMIN, tokens });
    try {
      const alice = forUser(lanes.take(), "lt1-7");
      await alice.send("POST", "/checkout?user_id=lt1-7&id=1&wait=100");
      await alice.send("GET", "/tickets/1-1-k?wait=100");
      await alice.send("POST", "/purchase?code=c");
      await ops.send("GET", "/users/lt1-8/purchases?sale_id=1", { user: "lt1-8" });
      await ops.send("POST", "/admin/sales", { body: {}, admin: true, user: "lt1-7" });
      await ops.send("GET", "/sales/1");
      const t0 = Math.floor(Date.now() / 1000);
      const [checkout, poll, purchase, purchases, admin, anonymous] = srv.seen;
      for (const r of [checkout, poll, purchase]) {
        const { sub, exp } = await subOf(r?.authorization);
        expect(sub).toBe("lt1-7");
        expect(exp).toBeGreaterThanOrEqual(t0 + 3600 - 5);
        expect(exp).toBeLessThanOrEqual(t0 + 3600);
      }
      expect((await subOf(purchases?.authorization)).sub).toBe("lt1-8");
      // Minted once per user and kept: the same token on every request, handed out without waiting.
      expect(new Set([checkout, poll, purchase].map((r) => r?.authorization)).size).toBe(1);
      expect(tokens.header("lt1-7")).toBe(checkout?.authorization);
      expect(admin?.authorization).toBe(`Basic ${Buffer.from("admin:pw").toString("base64")}`);
      expect(anonymous?.authorization).toBeUndefined();
    } finally {
      lanes.close();
      ops.close();
      await srv.close();
    }
  });

  it("sends no token without a secret, even for a user", async () => {
    const srv = await recorder();
    const http = createHttp(srv.base, { connections: 1 });
    try {
      await forUser(http, "u1").send("GET", "/tickets/1-1-k");
      expect(srv.seen[0]?.authorization).toBeUndefined();
    } finally {
      http.close();
      await srv.close();
    }
  });

  it("mints a fresh token only when the kept one nears its end", async () => {
    let now = Date.UTC(2030, 0, 1);
    const tokens = shopperTokens(SECRET, () => now);
    const first = await tokens.header("u1");
    expect(tokens.header("u1")).toBe(first);
    now += 50 * 60_000;
    expect(tokens.header("u1")).toBe(first);
    now += 6 * 60_000;
    const renewed = await tokens.header("u1");
    expect(renewed).not.toBe(first);
    // Verified against the real clock, a 2030 token is still valid; its exp is an hour past `now`.
    const { exp } = await verify(renewed.slice("Bearer ".length), SECRET, "HS256");
    expect(exp).toBe(Math.floor(now / 1000) + 3600);
  });

  it("reads --jwt-secret, or AUTH_JWT_SECRET from the environment, and refuses an empty one", () => {
    expect(parseCli([]).jwtSecret).toBeNull();
    expect(parseCli(["--jwt-secret", SECRET]).jwtSecret).toBe(SECRET);
    expect(parseCli([], { AUTH_JWT_SECRET: "from-env" }).jwtSecret).toBe("from-env");
    expect(parseCli(["--jwt-secret", SECRET], { AUTH_JWT_SECRET: "from-env" }).jwtSecret).toBe(SECRET);
    expect(validate(parseCli(["--jwt-secret", ""])).join()).toMatch(/--jwt-secret/);
  });

  it("a whole run: every checkout, poll and purchases read carries its own user's token", async () => {
    const app = baselineApp();
    const seen: { path: string; authorization: string | null; ticketUser?: string }[] = [];
    const server = await new Promise<Server>((resolve) => {
      const s = serve(
        {
          fetch: async (req: Request) => {
            const res = await app.fetch(req);
            const url = new URL(req.url);
            const r: (typeof seen)[number] = {
              path: url.pathname + url.search,
              authorization: req.headers.get("authorization"),
            };
            if (url.pathname.startsWith("/tickets/") && res.status === 200) {
              r.ticketUser = ((await res.clone().json()) as { user_id: string }).user_id;
            }
            seen.push(r);
            return res;
          },
          port: 0,
          hostname: "127.0.0.1",
        },
        () => resolve(s as unknown as Server),
      );
    });
    try {
      const report = await runLoad({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        admin: ADMIN,
        jwtSecret: SECRET,
        createSale: { items: 20, stockPerItem: 1, userLimit: 10, durationS: 600 },
        users: 4,
        arrival: { kind: "concurrency", concurrency: 4 },
        plan: { buyUpTo: 5, retries: 100, waitAtCheckout: false },
        durationS: 10,
        drainS: 5,
        checkUsers: "all",
        progress: false,
      });
      expect(report.invariants?.ok).toBe(true);
      const kinds = { checkout: 0, poll: 0, purchases: 0 };
      for (const r of seen) {
        const user =
          r.path.match(/^\/checkout\?user_id=([^&]+)/)?.[1] ??
          r.path.match(/^\/users\/([^/]+)\/purchases/)?.[1] ??
          r.ticketUser;
        if (r.path.startsWith("/admin/")) expect(r.authorization).toMatch(/^Basic /);
        else if (user === undefined) expect(r.authorization).toBeNull();
        else expect((await subOf(r.authorization ?? undefined)).sub).toBe(user);
        if (r.path.startsWith("/checkout")) kinds.checkout++;
        else if (r.path.startsWith("/tickets/")) kinds.poll++;
        else if (r.path.startsWith("/users/")) kinds.purchases++;
      }
      expect(kinds.checkout).toBeGreaterThanOrEqual(20);
      expect(kinds.poll).toBeGreaterThanOrEqual(20);
      expect(kinds.purchases).toBe(4);
      expect(report.settings).toMatchObject({ signed_identity: true });
      expect(JSON.stringify(report)).not.toContain(SECRET);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
