import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { crowd } from "../tools/harness/crowd.js";
import { ADMIN, createTestEnv, type TestEnv } from "../tools/harness/env.js";
import { waitForRest } from "../tools/harness/invariants.js";
import { CHROMIUM, CHROMIUM_ARGS, skipWithoutChromium, watchPage } from "./helpers/browser.js";
import { untilFinal } from "./helpers/shopper.js";

// The operator's pages in a real headless browser: Debian's chromium driven by
// playwright-core (test/helpers/browser.ts).
const skip = skipWithoutChromium("browser");

let env: TestEnv;
let context: BrowserContext;
let profileDir: string;
let saleId: string;

const watch = (page: Page) => watchPage(page, { errorStatuses: true });

const text = (page: Page, name: string) => page.locator(`[data-field="${name}"]`);

describe.skipIf(skip)("the operator's pages in a browser", () => {
  beforeAll(async () => {
    env = await createTestEnv({ workers: 1 });
    await env.setPayments({ failure_rate: 0.2, hang_rate: 0, latency_ms: { min: 1, max: 5 }, slots: 5 });
    saleId = await env.createSale({
      items: [
        { item_id: "A", stock: 12, name: "A" },
        { item_id: "B", stock: 12, name: "B" },
      ],
      user_limit: 2,
    });
    // Some traffic so the numbers move: purchases, declines, and refusals at the edge.
    await crowd(40, 20, async (i) => {
      const res = await env.json<{ ticket_id?: string }>(
        `/checkout?user_id=u${i % 15}&id=${i % 2 ? "A" : "B"}`,
        {
          method: "POST",
        },
      );
      if (res.body.ticket_id) await untilFinal(env, res.body.ticket_id);
    });
    await waitForRest(env.deps, saleId);

    profileDir = mkdtempSync(join(tmpdir(), "fs-chromium-"));
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      httpCredentials: { username: ADMIN.user, password: ADMIN.password },
      viewport: { width: 1280, height: 900 },
    });
  });

  afterAll(async () => {
    await context?.close();
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
    await env?.close();
  });

  it("the live page loads with no console errors or failed requests and shows the sale's numbers", async () => {
    const sale = await env.json<{ stock: { total: number; sold: number; available: number } }>(
      `/sales/${saleId}`,
    );
    expect(sale.body.stock.sold).toBeGreaterThan(0);
    const page = await context.newPage();
    const problems = watch(page);
    await page.goto(`${env.url}/admin`);

    await expect.poll(() => text(page, "stock.sold").textContent()).toBe(String(sale.body.stock.sold));
    expect(await text(page, "stock.total").textContent()).toBe(String(sale.body.stock.total));
    expect(await text(page, "stock.available").textContent()).toBe(String(sale.body.stock.available));
    expect(await text(page, "sale.status").textContent()).toBe("open");
    expect(await text(page, "clock.label").textContent()).toBe("Time left");
    // Counted by the workers and flushed to Redis twice a second, so it may trail by a poll.
    await expect
      .poll(async () => Number(await text(page, "out.purchased").textContent()))
      .toBe(sale.body.stock.sold);
    // The chart fills in as the page polls: a second sample gives a line.
    await expect.poll(() => page.locator('[data-field="chart.flow"] path').count()).toBeGreaterThan(0);
    // Let it poll a few more times, then nothing on the page may have gone wrong.
    await page.waitForTimeout(2500);
    expect(await text(page, "updated").textContent()).toBe("live");
    expect(await page.locator('[data-field="error"]').isHidden()).toBe(true);
    expect(problems).toEqual([]);
    await page.close();
  });

  it("the failure-rate control changes the payment settings for every worker", async () => {
    const page = await context.newPage();
    const problems = watch(page);
    await page.goto(`${env.url}/admin`);
    await expect.poll(() => page.getByLabel("Failure rate").inputValue()).toBe("0.2");

    await page.getByLabel("Failure rate").fill("0.35");
    await page.getByRole("button", { name: "Apply" }).click();
    await expect.poll(() => text(page, "settings.status").textContent()).toMatch(/^applied/);
    const payments = await env.json<{ failure_rate: number; slots: number }>("/admin/payments", {
      admin: true,
    });
    expect(payments.body.failure_rate).toBe(0.35);
    // Only the edited field was sent: the others are as they were.
    expect(payments.body.slots).toBe(5);
    expect(problems).toEqual([]);
    await page.close();
  });

  it("a value the API refuses shows its error next to the control", async () => {
    const page = await context.newPage();
    const problems = watch(page);
    await page.goto(`${env.url}/admin`);
    await expect.poll(() => page.getByLabel("Failure rate").inputValue()).not.toBe("");

    await page.getByLabel("Failure rate").fill("1.5");
    await page.getByRole("button", { name: "Apply" }).click();
    await expect
      .poll(() => text(page, "settings.status").textContent())
      .toMatch(/^400 invalid_request: failure_rate/);
    expect(await text(page, "settings.status").getAttribute("data-kind")).toBe("error");
    expect(await page.getByLabel("Failure rate").getAttribute("aria-invalid")).toBe("true");
    const payments = await env.json<{ failure_rate: number }>("/admin/payments", { admin: true });
    expect(payments.body.failure_rate).toBe(0.35);
    // The refused PUT is the only thing the browser reports.
    expect(problems.filter((p) => !p.includes("400"))).toEqual([]);
    await page.close();
  });

  it("a profile button switches the fault profile, and ending it switches back", async () => {
    const page = await context.newPage();
    const problems = watch(page);
    await page.goto(`${env.url}/admin`);
    await page.getByLabel("Duration").fill("30");
    await page.getByRole("button", { name: "flaky" }).click();
    await expect.poll(() => text(page, "profile.current").textContent()).toMatch(/^flaky · \d+ s left$/);
    const during = await env.json<{ profile: { name: string } | null; failure_rate: number }>(
      "/admin/payments",
      {
        admin: true,
      },
    );
    expect(during.body.profile?.name).toBe("flaky");
    expect(during.body.failure_rate).toBeCloseTo(44 / 45);

    await page.getByRole("button", { name: "End profile now" }).click();
    await expect.poll(() => text(page, "profile.current").textContent()).toBe("none");
    const after = await env.json<{ profile: unknown; failure_rate: number }>("/admin/payments", {
      admin: true,
    });
    expect(after.body.profile).toBeNull();
    expect(after.body.failure_rate).toBe(0.35);
    expect(problems).toEqual([]);
    await page.close();
  });

  it("the queue dashboard loads with no console errors and lists the checkout and calendar queues", async () => {
    const page = await context.newPage();
    const problems = watch(page);
    await page.goto(`${env.url}/admin/queues`);
    await page.getByText("checkout", { exact: true }).first().waitFor();
    await page.getByText("calendar", { exact: true }).first().waitFor();
    await page.waitForTimeout(1000);
    expect(problems).toEqual([]);
    await page.close();
  });
});
