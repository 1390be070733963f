import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { sleep } from "../../shared/time.js";
import type { AuditReport } from "../../tools/audit/audit.js";
import type { HttpClient } from "../../tools/harness/env.js";

// What every fault drill shares: a crowd that keeps checking out while the fault
// happens (and survives the API being away), and the figures it leaves behind in
// test/faults/results/<drill>.json, from which docs/reliability.md's table is made
// (npx tsx scripts/reliability-table.ts).

const resultsDir = fileURLToPath(new URL("../faults/results/", import.meta.url));

export interface LoadStats {
  /** Answers by HTTP status ("network" when the API could not be reached). */
  answers: Record<string, number>;
  accepted: string[];
  /** Checkouts sent per second, over the load's life. */
  rate: () => number;
}

export interface LoadOptions {
  clients: number;
  items: string[];
  /** Pause between one client's checkouts. */
  pauseMs: number;
  /** Distinct users per client; each takes a few units before the next takes over. */
  tag?: string;
}

/**
 * Clients checking out items in a loop until stopped. `target` is asked for the
 * API before each request, so a drill can move the crowd to another API process.
 */
export function startLoad(target: () => HttpClient, opts: LoadOptions) {
  const stats: LoadStats = { answers: {}, accepted: [], rate: () => 0 };
  let running = true;
  let sent = 0;
  const began = Date.now();
  stats.rate = () => Math.round((sent * 1000) / Math.max(1, Date.now() - began));
  const loops = Array.from({ length: opts.clients }, async (_, c) => {
    for (let i = 0; running; i++) {
      const item = opts.items[(c * 7 + i) % opts.items.length] ?? "1";
      // Three checkouts per user, well under the per-user limit.
      const user = `${opts.tag ?? "l"}${c}x${Math.floor(i / 3)}`;
      let status = "network";
      try {
        const res = await target().request(`/checkout?user_id=${user}&id=${item}`, {
          method: "POST",
          signal: AbortSignal.timeout(10_000),
        });
        status = String(res.status);
        const body = (await res.json().catch(() => ({}))) as { ticket_id?: string };
        if (res.status === 202 && body.ticket_id) stats.accepted.push(body.ticket_id);
      } catch {
        // The API is away (killed, restarting): count it and go on.
      }
      sent++;
      stats.answers[status] = (stats.answers[status] ?? 0) + 1;
      await sleep(status === "202" ? opts.pauseMs : opts.pauseMs * 3);
    }
  });
  return {
    stats,
    async stop() {
      running = false;
      await Promise.all(loops);
      return stats;
    },
  };
}

export interface DrillResult {
  drill: string;
  load: string;
  fault: string;
  /** What recovery_ms measures, e.g. "last kill → every ticket final". */
  recovery: string;
  recovery_ms: number;
  answers: Record<string, number>;
  audit: AuditReport;
  extra?: Record<string, number | string>;
}

/** Writes a drill's figures for the reliability table. */
export function recordDrill(r: DrillResult) {
  mkdirSync(resultsDir, { recursive: true });
  const invariants = r.audit.checks.map((c) => ({
    id: c.id,
    kind: c.kind,
    checked: c.checked,
    unit: c.unit,
    violations: c.violations.length,
  }));
  const out = {
    drill: r.drill,
    at: new Date().toISOString(),
    load: r.load,
    fault: r.fault,
    recovery: r.recovery,
    recovery_ms: r.recovery_ms,
    answers: r.answers,
    ok: r.audit.ok,
    counts: r.audit.counts,
    invariants,
    ...(r.extra ? { extra: r.extra } : {}),
  };
  writeFileSync(`${resultsDir}${r.drill}.json`, `${JSON.stringify(out, null, 2)}\n`);
}
