// Debian's Chromium and the flags it runs with headless in a container or CI: used by the
// browser suites (test/helpers/browser.ts) and scripts/screenshot.ts.
export const CHROMIUM = "/usr/bin/chromium";

export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
