import { existsSync } from "node:fs";
import type { Page, Request } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS } from "../../tools/harness/chromium.js";

// The browser suites (the live page, the operators' pages, the storefront) drive Debian's
// chromium through playwright-core: no downloaded browser. .ci/run installs it, so in CI
// (CI set) a missing binary fails the suites; elsewhere they are skipped, saying why.

export { CHROMIUM, CHROMIUM_ARGS };

/** Whether `suite` is skipped here (no chromium, outside CI); says so when it is. */
export function skipWithoutChromium(suite: string): boolean {
  const skip = !existsSync(CHROMIUM) && !process.env.CI;
  if (skip) console.warn(`${suite} suite skipped: ${CHROMIUM} is missing (apt-get install chromium)`);
  return skip;
}

export interface WatchOptions {
  /** A failed request that is no fault (one the test or the page itself abandoned). */
  abandoned?: (r: Request, error: string | undefined) => boolean;
  /** Count answers of 400 and above as problems too. */
  errorStatuses?: boolean;
}

/** Everything that goes wrong on a page from now on: console errors, uncaught exceptions, failed requests. */
export function watchPage(page: Page, opts: WatchOptions = {}): string[] {
  const problems: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`exception: ${e.message}`));
  page.on("requestfailed", (r) => {
    const error = r.failure()?.errorText;
    if (!opts.abandoned?.(r, error)) problems.push(`failed: ${r.method()} ${r.url()} ${error}`);
  });
  if (opts.errorStatuses)
    page.on("response", (r) => {
      if (r.status() >= 400) problems.push(`${r.status()}: ${r.request().method()} ${r.url()}`);
    });
  return problems;
}
