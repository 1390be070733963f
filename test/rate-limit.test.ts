import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../shared/config.js";
import { sleep } from "../shared/time.js";
import { countBy, crowd } from "../tools/harness/crowd.js";
import { createTestEnv, type TestEnv } from "../tools/harness/env.js";
import { checkInvariants, waitForRest } from "../tools/harness/invariants.js";

type Answer = { status: number; code: string; retryAfter: string | null };

async function checkout(env: TestEnv, user: string, item: string, headers: Record<string, string> = {}) {
  const res = await env.json<{ error?: { code: string } }>(`/checkout?user_id=${user}&id=${item}`, {
    method: "POST",
    headers,
  });
  return { status: res.status, code: res.body.error?.code ?? "", retryAfter: res.headers.get("retry-after") };
}

const limited = (a: Answer) => a.status === 429 && a.code === "rate_limited";

describe("per-user rate limit (1 per 2 s, burst 5)", () => {
  let env: TestEnv;
  let saleId: string;
  beforeAll(async () => {
    env = await createTestEnv({
      // Slow refill, so no token comes back mid-test on a loaded machine.
      env: { RATE_USER_PER_S: "0.5", RATE_USER_BURST: "5", RATE_CLIENT_PER_S: "0" },
    });
    saleId = await env.createSale({ items: [{ item_id: "R", stock: 100_000 }], user_limit: 100_000 });
  });
  afterAll(async () => {
    await env?.close();
  });

  it("a user past its burst gets 429 rate_limited with Retry-After, and is served again after it", async () => {
    const burst = [];
    for (let i = 0; i < 5; i++) burst.push(await checkout(env, "steady", "R"));
    expect(burst.map((a) => a.status)).toEqual([202, 202, 202, 202, 202]);
    const over = await checkout(env, "steady", "R");
    expect(limited(over)).toBe(true);
    // A token every 2 s: back within 2 s, in whole seconds rounded up.
    expect(["1", "2"]).toContain(over.retryAfter);
    await sleep(Number(over.retryAfter) * 1000);
    expect((await checkout(env, "steady", "R")).status).toBe(202);
  });

  it("one user hammering far past its limit does not starve the others: each of them gets its 202s", async () => {
    const HOG_REQUESTS = 1500;
    const OTHERS = 100;
    const started = Date.now();
    const [hog, others] = await Promise.all([
      crowd(HOG_REQUESTS, 40, () => checkout(env, "hog", "R")),
      crowd(OTHERS * 2, 40, (i) => checkout(env, `polite${i % OTHERS}`, "R")),
    ]);
    const seconds = (Date.now() - started) / 1000;
    expect(countBy(others, (a) => String(a.status))).toEqual({ "202": OTHERS * 2 });
    const hogServed = hog.filter((a) => a.status === 202).length;
    // The burst, plus what the rate refills while the hammering lasts.
    expect(hogServed).toBeLessThanOrEqual(5 + Math.ceil(seconds * 0.5) + 1);
    expect(hog.filter(limited).length).toBe(HOG_REQUESTS - hogServed);
    expect(hog.every((a) => a.status === 202 || Number(a.retryAfter) >= 1)).toBe(true);
    await waitForRest(env.deps, saleId);
    expect((await checkInvariants(env.deps, saleId)).violations).toEqual([]);
  });

  it("a refused request costs no token: a user that keeps hammering is served once it waits", async () => {
    for (let i = 0; i < 5; i++) await checkout(env, "eager", "R");
    let last: Answer | undefined;
    for (let i = 0; i < 20; i++) {
      last = await checkout(env, "eager", "R");
      expect(limited(last)).toBe(true);
    }
    // Had the refusals cost tokens, the bucket would be 20 in debt and still empty after this.
    await sleep(Number(last?.retryAfter) * 1000);
    expect((await checkout(env, "eager", "R")).status).toBe(202);
  });
});

describe("per-client rate limit (1 per 5 s, burst 5), X-Forwarded-For not trusted", () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv({
      // Slow refill, so no token comes back while the test runs, however loaded the machine.
      env: { RATE_USER_PER_S: "0", RATE_CLIENT_PER_S: "0.2", RATE_CLIENT_BURST: "5" },
    });
    await env.createSale({ items: [{ item_id: "C", stock: 1000 }] });
  });
  afterAll(async () => {
    await env?.close();
  });

  it("counts every user of one address together, and a forged X-Forwarded-For does not escape it", async () => {
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await checkout(env, `shared${i}`, "C"));
    expect(answers.map((a) => a.status)).toEqual([202, 202, 202, 202, 202]);
    const over = await checkout(env, "fresh-user", "C");
    expect(limited(over)).toBe(true);
    // A token every 5 s: back within 5 s, rounded up.
    expect(Number(over.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(over.retryAfter)).toBeLessThanOrEqual(5);
    const forged = await checkout(env, "forger", "C", { "x-forwarded-for": "203.0.113.7" });
    expect(limited(forged)).toBe(true);
  });
});

describe("per-client rate limit behind a trusted proxy (TRUST_PROXY=true)", () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv({
      env: { RATE_USER_PER_S: "0", RATE_CLIENT_PER_S: "0.2", RATE_CLIENT_BURST: "3", TRUST_PROXY: "true" },
    });
    await env.createSale({ items: [{ item_id: "P", stock: 1000 }] });
  });
  afterAll(async () => {
    await env?.close();
  });

  it("takes the client from the proxy's X-Forwarded-For entry: each address has its own bucket", async () => {
    const from = (chain: string) => ({ "x-forwarded-for": chain });
    for (let i = 0; i < 3; i++)
      expect((await checkout(env, `a${i}`, "P", from("198.51.100.1"))).status).toBe(202);
    expect(limited(await checkout(env, "a3", "P", from("198.51.100.1")))).toBe(true);
    // Entries before the last are the client's own word: the proxy's (last) one decides.
    expect(limited(await checkout(env, "a4", "P", from("10.9.9.9, 198.51.100.1")))).toBe(true);
    expect((await checkout(env, "b0", "P", from("198.51.100.2"))).status).toBe(202);
  });
});

describe("rate limit configuration", () => {
  it("refuses a negative rate with one line naming the variable", () => {
    expect(() => parseConfig({ RATE_USER_PER_S: "-1" })).toThrow(/^config: RATE_USER_PER_S must be a number/);
    expect(() => parseConfig({ RATE_CLIENT_BURST: "0" })).toThrow(/^config: RATE_CLIENT_BURST /);
  });

  it("by default limits users generously and clients not at all", () => {
    const cfg = parseConfig({});
    expect(cfg.RATE_USER_BURST).toBeGreaterThanOrEqual(100);
    expect(cfg.RATE_CLIENT_PER_S).toBe(0);
    expect(cfg.TRUST_PROXY).toBe(false);
  });
});
