import type { AuditReport } from "./audit.js";

// Violations listed under a failing line: enough to find the cause, not a flood.
const EXAMPLES = 5;

/** One line per invariant, `OK` or `VIOLATION`, with its count; a failing one lists examples. */
export function formatReport(r: AuditReport): string {
  const width = Math.max(...r.checks.map((c) => c.id.length));
  const lines = [`audit of sale ${r.saleId}`];
  for (const c of r.checks) {
    const verdict = c.kind === "info" ? "INFO" : c.violations.length ? "VIOLATION" : "OK";
    const count = c.violations.length
      ? `${c.violations.length} violations in ${c.checked} ${c.unit}`
      : `${c.checked} ${c.unit}`;
    lines.push(`${verdict.padEnd(9)}  ${c.id.padEnd(width)}  ${count}: ${c.title}`);
    for (const v of c.violations.slice(0, EXAMPLES)) lines.push(`           - ${v}`);
    if (c.violations.length > EXAMPLES)
      lines.push(`           - … and ${c.violations.length - EXAMPLES} more`);
  }
  const { counts } = r;
  const statuses = Object.entries(counts.byStatus)
    .map(([s, n]) => `${s} ${n}`)
    .join(", ");
  lines.push(
    `${counts.items} items, stock ${counts.stock}, sold ${counts.sold}, ${counts.purchases} purchases, ` +
      `${counts.tickets} tickets in Redis${statuses ? ` (${statuses})` : ""}`,
  );
  lines.push(
    r.ok
      ? "all invariants hold"
      : `${r.checks.filter((c) => c.violations.length).length} invariants violated`,
  );
  return lines.join("\n");
}

/** The report for machines: each check with its verdict and violation count. */
export function reportJson(r: AuditReport) {
  return {
    sale_id: r.saleId,
    ok: r.ok,
    checks: r.checks.map((c) => ({
      id: c.id,
      title: c.title,
      status: c.kind === "info" ? "info" : c.violations.length ? "violation" : "ok",
      checked: c.checked,
      unit: c.unit,
      violations: c.violations.length,
      examples: c.violations.slice(0, 20),
    })),
    counts: r.counts,
  };
}
