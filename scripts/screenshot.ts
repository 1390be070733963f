// Refreshes docs/live-page.png: the live sale page during a running sale.
//
//   npx tsx scripts/screenshot.ts [out.png]
//
// It starts its own system (api and two workers as real processes, with a suite's
// own database and Redis prefix, as the tests do), opens the page in Debian's
// chromium, and drives a crowd for about a minute and a half whose payments go
// healthy, then flaky, then slow with hangs, then slow, so every tile and both
// charts have something to show. Needs Redis, PostgreSQL (npm run services) and
// /usr/bin/chromium.
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { chromium } from "playwright-core";
import { sleep } from "../shared/time.js";
import { CHROMIUM, CHROMIUM_ARGS } from "../tools/harness/chromium.js";
import { ADMIN, createProcessEnv, type HttpClient } from "../tools/harness/env.js";

const OUT = process.argv[2] ?? "docs/live-page.png";
const USERS = 3000;
const ITEMS = 200;
// Checkouts in flight at once, so a slow phase cannot pile up unbounded sockets here.
const MAX_IN_FLIGHT = 150;
const TICK_MS = 100;

interface Phase {
  at: number;
  label: string;
  apply: (http: HttpClient) => Promise<unknown>;
}

const healthy = { failure_rate: 0.05, hang_rate: 0, latency_ms: { min: 20, max: 150 }, timeout_ms: 2000 };
const put = (http: HttpClient, path: string, json: unknown) =>
  http.request(path, { method: "PUT", admin: true, json }).then(async (r) => {
    if (!r.ok) throw new Error(`PUT ${path}: ${r.status} ${await r.text()}`);
  });

// Seconds since the start at which the payment simulator changes. The screenshot
// is taken in the middle of the last phase, an incident in progress: the queue
// grows, every slot is busy, and the fault profile panel shows its countdown.
const PHASES: Phase[] = [
  { at: 0, label: "healthy", apply: (h) => put(h, "/admin/payments", { ...healthy, slots: 30 }) },
  {
    at: 30,
    label: "flaky profile for 20 s",
    apply: (h) => put(h, "/admin/payments/profile", { name: "flaky", duration_s: 20 }),
  },
  {
    at: 52,
    label: "slow, some hangs",
    apply: (h) =>
      put(h, "/admin/payments", { failure_rate: 0.1, hang_rate: 0.03, latency_ms: { min: 300, max: 1200 } }),
  },
  {
    at: 78,
    label: "slow profile",
    apply: (h) => put(h, "/admin/payments/profile", { name: "slow", duration_s: 120 }),
  },
];
const END_S = 96;

/** Checkouts per second at `t` s: a swell and a dip, so the chart is not a flat line. */
const rateAt = (t: number) => 50 + 30 * Math.sin(t / 10) + (t > 20 && t < 30 ? 40 : 0);

const pick = (n: number) => Math.floor(Math.random() * n);

async function main() {
  // Fewer tickets per worker than the default, so a slow phase shows as a queue, not only as busy slots.
  const env = await createProcessEnv({ workers: 2, env: { WORKER_CONCURRENCY: "20" } });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
  });
  try {
    const items = Array.from({ length: ITEMS }, (_, i) => ({
      item_id: `i${i}`,
      stock: 40,
      name: `Item ${i}`,
    }));
    items.push({ item_id: "hot", stock: 40, name: "The hot one" });
    await env.createSale({ items, duration_s: 1800, user_limit: 4 });

    const context = await browser.newContext({
      httpCredentials: { username: ADMIN.user, password: ADMIN.password },
      viewport: { width: 1360, height: 800 },
    });
    const page = await context.newPage();
    page.on("console", (m) => m.type() === "error" && console.error(`page: ${m.text()}`));
    await page.goto(`${env.url}/admin`);
    await page.selectOption("#window", "120");

    const start = Date.now();
    let inFlight = 0;
    let owed = 0;
    let phase = 0;
    for (;;) {
      const t = (Date.now() - start) / 1000;
      if (t >= END_S) break;
      const next = PHASES[phase];
      if (next && t >= next.at) {
        console.log(`${Math.round(t)} s: ${next.label}`);
        await next.apply(env);
        phase++;
      }
      owed += (rateAt(t) * TICK_MS) / 1000;
      for (; owed >= 1 && inFlight < MAX_IN_FLIGHT; owed--) {
        // One in ten goes for the hot item, which sells out early and then answers sold_out.
        const item = Math.random() < 0.1 ? "hot" : `i${pick(ITEMS)}`;
        inFlight++;
        void env
          .request(`/checkout?user_id=u${pick(USERS)}&id=${item}`, { method: "POST" })
          .then((r) => r.arrayBuffer())
          .catch(() => {})
          .finally(() => inFlight--);
      }
      await sleep(TICK_MS);
    }
    // A second more, so the last samples are on the page.
    await sleep(1500);
    mkdirSync(dirname(OUT), { recursive: true });
    await page.screenshot({ path: OUT, fullPage: true });
    console.log(`wrote ${OUT}`);
    await context.close();
  } finally {
    await browser.close();
    await env.close();
  }
}

await main();
