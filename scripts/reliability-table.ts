import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

// Renders the fault drills' latest figures (test/faults/results/*.json, written by
// each drill as it passes) into docs/reliability.md, between its drill markers.
// Usage: npx tsx scripts/reliability-table.ts

interface Result {
  drill: string;
  at: string;
  load: string;
  fault: string;
  recovery: string;
  recovery_ms: number;
  ok: boolean;
  counts: { items: number; stock: number; sold: number; purchases: number; byStatus: Record<string, number> };
  invariants: { id: string; kind: string; checked: number; unit: string; violations: number }[];
}

const root = fileURLToPath(new URL("..", import.meta.url));
const dir = `${root}test/faults/results/`;
const doc = `${root}docs/reliability.md`;
const ORDER = [
  "worker-kill",
  "api-restart",
  "redis-restart",
  "postgres-restart",
  "scheduler-kill",
  "late-success",
];

const results = readdirSync(dir)
  .filter((f) => f.endsWith(".json"))
  .map((f) => JSON.parse(readFileSync(dir + f, "utf8")) as Result)
  .sort((a, b) => ORDER.indexOf(a.drill) - ORDER.indexOf(b.drill));

const cell = (s: string) => s.replaceAll("|", "\\|");
const tickets = (r: Result) =>
  Object.entries(r.counts.byStatus)
    .map(([s, n]) => `${n} ${s}`)
    .join(", ") || "none";

const main = [
  "| drill | load during it | fault | recovery (measured) | tickets in Redis at rest | sold / stock | invariants |",
  "| --- | --- | --- | --- | --- | --- | --- |",
  ...results.map((r) => {
    const inv = r.invariants.filter((i) => i.kind === "invariant");
    const broken = inv.filter((i) => i.violations > 0).length;
    return `| \`${r.drill}\` | ${cell(r.load)} | ${cell(r.fault)} | ${cell(r.recovery)}: **${r.recovery_ms} ms** | ${tickets(r)} | ${r.counts.sold} / ${r.counts.stock} (${r.counts.purchases} purchases) | ${broken ? `**${broken} violated**` : `all ${inv.length} hold`} |`;
  }),
];

const ids = [...new Set(results.flatMap((r) => r.invariants.map((i) => i.id)))];
const matrix = [
  `| audit check | ${results.map((r) => `\`${r.drill}\``).join(" | ")} |`,
  `| --- | ${results.map(() => "---").join(" | ")} |`,
  ...ids.map((id) => {
    const cells = results.map((r) => {
      const i = r.invariants.find((x) => x.id === id);
      if (!i) return "–";
      if (i.kind === "info") return `${i.checked} ${i.unit}`;
      return `${i.violations ? `**${i.violations} violations** in` : "OK,"} ${i.checked} ${i.unit}`;
    });
    return `| \`${id}\` | ${cells.join(" | ")} |`;
  }),
];

const stamp =
  results
    .map((r) => r.at)
    .sort()
    .at(-1) ?? "never";
const table = [`Latest run: ${stamp} (UTC).`, "", ...main, "", ...matrix].join("\n");
const text = readFileSync(doc, "utf8");
const start = "<!-- drills:start -->";
const end = "<!-- drills:end -->";
const a = text.indexOf(start);
const b = text.indexOf(end);
if (a < 0 || b < a) throw new Error(`${doc} has no ${start} … ${end} section`);
writeFileSync(doc, `${text.slice(0, a + start.length)}\n${table}\n${text.slice(b)}`);
console.log(`docs/reliability.md: ${results.length} drills`);
