import { parseArgs } from "node:util";
import { loadConfig } from "../shared/config.js";
import { closeDeps, createDeps, StartupError } from "../shared/deps.js";
import { createLogger } from "../shared/logger.js";
import { auditSale } from "../tools/audit/audit.js";
import { formatReport, reportJson } from "../tools/audit/format.js";
import { scanTickets, waitForRest } from "../tools/audit/tickets.js";

// npm run audit -- --sale ID [--json] [--wait S]
// Compares Redis and PostgreSQL for one sale and prints every invariant with its
// count. Exit 0: all hold; 1: a violation; 2: bad usage or a store unreachable.

const USAGE = "usage: npm run audit -- --sale ID [--json] [--wait SECONDS]";

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

let args: ReturnType<typeof parse>;
function parse() {
  return parseArgs({
    options: {
      sale: { type: "string" },
      json: { type: "boolean", default: false },
      // A sale still running has tickets in flight: wait for them to end first.
      wait: { type: "string" },
    },
    strict: true,
  }).values;
}
try {
  args = parse();
} catch (err) {
  fail(`${(err as Error).message}\n${USAGE}`);
}
const saleId = args.sale ?? fail(USAGE);
if (!/^[1-9][0-9]{0,17}$/.test(saleId)) fail(`--sale must be a sale id (a positive integer), got ${saleId}`);
const waitS = args.wait === undefined ? 0 : Number(args.wait);
if (!Number.isFinite(waitS) || waitS < 0) fail(`--wait must be a number of seconds, got ${args.wait}`);

// Quiet: the report is the output.
const cfg = loadConfig({ LOG_LEVEL: "silent" });
let deps: Awaited<ReturnType<typeof createDeps>>;
try {
  deps = await createDeps(cfg, "audit", createLogger("audit", cfg));
} catch (err) {
  fail(err instanceof StartupError ? err.message : `audit: ${String(err)}`);
}
try {
  if (waitS > 0) {
    // Not at rest in time: audit anyway, the report names what is still open.
    await waitForRest(deps, saleId, waitS * 1000, scanTickets).catch(() => {});
  }
  const report = await auditSale(deps, saleId);
  process.stdout.write(
    args.json ? `${JSON.stringify(reportJson(report), null, 2)}\n` : `${formatReport(report)}\n`,
  );
  await closeDeps(deps);
  process.exit(report.ok ? 0 : 1);
} catch (err) {
  await closeDeps(deps);
  fail(`audit: ${String(err)}`);
}
