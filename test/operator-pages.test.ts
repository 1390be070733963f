import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, createTestEnv, type TestEnv } from "../tools/harness/env.js";
import { waitForRest } from "../tools/harness/invariants.js";
import { CHROMIUM, CHROMIUM_ARGS, skipWithoutChromium, watchPage } from "./helpers/browser.js";
import { untilFinal } from "./helpers/shopper.js";

// The operators' pages as people open them (issue 15): with the credentials in the
// address (http://user:pass@host/admin), which Chromium refuses to fetch relative URLs
// from; the live page per sale, with its panel of admin actions; the queue dashboard
// showing the jobs a sale just finished. Debian's chromium (test/helpers/browser.ts).
const skip = skipWithoutChromium("operator pages");

let env: TestEnv;
let context: BrowserContext;
let profileDir: string;
let older: string;
let newer: string;
/** The API's address with the admin credentials in it, as a person types it. */
let withCredentials: string;

/**
 * Everything that went wrong on a page: console errors, uncaught exceptions, failed or
 * refused requests. The queue dashboard reopens itself without the credentials before it
 * runs (api/routes/admin-queues.ts): what the abandoned first load had asked for is
 * aborted, and is no fault.
 */
const watch = (page: Page) =>
  watchPage(page, {
    abandoned: (r, error) => new URL(r.url()).username !== "" && error === "net::ERR_ABORTED",
    errorStatuses: true,
  });

const text = (page: Page, name: string) => page.locator(`[data-field="${name}"]`);

async function buy(saleId: string, item: string, shoppers: number) {
  await Promise.all(
    Array.from({ length: shoppers }, async (_, i) => {
      const res = await env.json<{ ticket_id?: string }>(
        `/checkout?user_id=${item}-${i}&id=${item}&sale_id=${saleId}`,
        { method: "POST" },
      );
      if (res.body.ticket_id) await untilFinal(env, res.body.ticket_id);
    }),
  );
  await waitForRest(env.deps, saleId);
}

describe.skipIf(skip)("the operators' pages opened as http://user:pass@host", () => {
  beforeAll(async () => {
    // Each ticket a job of its own, so the dashboard's count is the tickets'.
    env = await createTestEnv({ workers: 1, env: { JOB_BATCH_MAX: "1" } });
    older = await env.createSale({ items: [{ item_id: "OLD", stock: 8, name: "old" }], user_limit: 1 });
    await buy(older, "OLD", 6);
    newer = await env.createSale({ items: [{ item_id: "NEW", stock: 20, name: "new" }], user_limit: 1 });
    await buy(newer, "NEW", 3);
    const url = new URL(env.url);
    url.username = ADMIN.user;
    url.password = ADMIN.password;
    withCredentials = url.href.replace(/\/$/, "");

    profileDir = mkdtempSync(join(tmpdir(), "fs-chromium-"));
    // No httpCredentials: the only credentials are those in the address.
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 900 },
    });
  });

  afterAll(async () => {
    await context?.close();
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
    await env?.close();
  });

  it("the live page shows the current sale's numbers, picks another sale, and lists the admin actions", async () => {
    const page = await context.newPage();
    const problems = watch(page);
    await page.goto(`${withCredentials}/admin`);

    // The current sale is the newest open one.
    await expect.poll(() => text(page, "sale.id").textContent()).toBe(`· sale ${newer}`);
    await expect.poll(() => text(page, "stock.sold").textContent()).toBe("3");
    expect(await text(page, "stock.total").textContent()).toBe("20");

    // The picker lists both sales (from GET /sales); the older one's figures come from /stats.
    const picker = page.getByLabel("Sale", { exact: true });
    await expect
      .poll(() => picker.locator("option").allTextContents())
      .toEqual([
        "current sale (newest open)",
        expect.stringMatching(new RegExp(`^sale ${newer} · open`)),
        expect.stringMatching(new RegExp(`^sale ${older} · open`)),
      ]);
    await picker.selectOption(older);
    await expect.poll(() => text(page, "sale.id").textContent()).toBe(`· sale ${older}`);
    expect(await text(page, "stock.sold").textContent()).toBe("6");
    expect(await text(page, "stock.total").textContent()).toBe("8");
    expect(new URL(page.url()).hash).toBe(`#sale=${older}`);
    // A reload keeps the choice.
    await page.reload();
    await expect.poll(() => text(page, "stock.total").textContent()).toBe("8");
    expect(await picker.inputValue()).toBe(older);

    // The panel: both sales' creation, by whom, with the sale each made.
    const rows = page.locator('[data-field="admin-log.rows"] tr');
    await expect.poll(() => rows.count()).toBe(2);
    expect(await rows.allInnerTexts()).toEqual([
      expect.stringMatching(new RegExp(`admin\\s+POST /admin/sales\\s+.*ok · sale ${newer}$`)),
      expect.stringMatching(new RegExp(`admin\\s+POST /admin/sales\\s+.*ok · sale ${older}$`)),
    ]);
    // A change made on the page itself comes into the panel, newest first.
    await page.getByLabel("Failure rate").fill("0.1");
    await page.getByRole("button", { name: "Apply" }).click();
    await expect.poll(() => text(page, "settings.status").textContent()).toMatch(/^applied/);
    await expect.poll(() => rows.count()).toBe(3);
    expect(await rows.first().innerText()).toMatch(
      /admin\s+PUT \/admin\/payments\s+\{"failure_rate":0\.1\}\s+ok$/,
    );

    // Back to the current sale.
    await picker.selectOption("");
    await expect.poll(() => text(page, "stock.total").textContent()).toBe("20");
    expect(new URL(page.url()).hash).toBe("");

    await page.waitForTimeout(1500);
    expect(await text(page, "updated").textContent()).toBe("live");
    expect(await page.locator('[data-field="error"]').isHidden()).toBe(true);
    expect(problems).toEqual([]);
    await page.close();
  });

  it("the queue dashboard loads and shows the jobs the sales just completed", async () => {
    const page = await context.newPage();
    const problems = watch(page);
    await page.goto(`${withCredentials}/admin/queues`);
    await page.getByText("calendar", { exact: true }).first().waitFor();
    // Reopened without the credentials, which the browser keeps for the realm.
    expect(new URL(page.url()).username).toBe("");
    await page.goto(`${env.url}/admin/queues/queue/checkout?status=completed`);
    // Nine purchases, a job each, kept for the dashboard (JOB_HISTORY) rather than removed.
    await expect.poll(() => page.getByText(/^ticket$/).count()).toBe(9);
    await page.waitForTimeout(1000);
    expect(problems).toEqual([]);
    await page.close();
  });
});
