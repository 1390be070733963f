import { hostname } from "node:os";
import type { Deps } from "../deps.js";
import { defineBatchScript, type ScriptResult, str } from "../scripts/define.js";
import type { TicketKeys } from "../ticket/ticket-keys.js";
import { extendLease } from "./extend-lease.js";
import { LEASE_GRACE_MS } from "./slots.js";

// Which worker ran a payment, recorded on the ticket for operators.
const WORKER_ID = `${hostname()}:${process.pid}`;

// A payment may start up to this much shorter than its timeout (its slot was granted
// a moment ago with a lease for a whole timeout) before the lease is stretched first.
const SHORTFALL_MS = 50;

// The slot semaphore is global and a ticket's keys are its sale's, so in a Redis
// Cluster they live in different slots and no one script may touch both. A payment's
// deadline never passes its lease (minus the grace), and the slot is freed only after
// the ticket has moved on, so the split never lets more payments run than slots.
export interface PaymentStart {
  k: TicketKeys;
  holder: string;
  /** The slot's lease expiry (ms, Redis clock) as granted; 0 when unknown (the lease is stretched first). */
  leaseUntil: number;
}

/** How one ticket's payment start went. */
export interface StartAnswer {
  /**
   * 'paying', 'busy' (another attempt pays it), 'noslot' (the lease ran out before the
   * start), 'error', or the ticket's status when it was not reserved ('missing' with no ticket).
   */
  status: string;
  /** Paying or busy: the payment's deadline (ms, Redis clock). */
  deadline?: number;
  /** Error: what failed (this ticket alone). */
  error?: string;
}

function startAnswer(raw: ScriptResult): StartAnswer {
  const status = str(raw, 0) || "missing";
  if (status === "paying" || status === "busy") return { status, deadline: Number(str(raw, 1)) };
  if (status === "error") return { status, error: str(raw, 1) };
  return { status };
}

const startPaymentScript = defineBatchScript({
  name: "startPayment",
  lua: new URL("./start-payment.lua", import.meta.url),
  helpers: ["now_ms"],
  keys: [],
  args: ["timeoutMs", "worker", "events", "leaseGraceMs", "shortfallMs"],
  each: { keys: ["ticket"], args: ["holder", "seq", "leaseUntil"] },
  // Per ticket as StartAnswer, or 'extend': its lease must be stretched first.
  decode: (raw) => (Array.isArray(raw) ? raw.map(startAnswer) : []),
});

/**
 * Starts paying reserved tickets of one sale that hold slots, in one call; one answer per
 * ticket. A lease too short for the timeout is stretched first (extend-lease.lua), for
 * that ticket alone.
 */
export async function startPayments(
  deps: Pick<Deps, "redis" | "keys">,
  timeoutMs: number,
  starts: PaymentStart[],
): Promise<StartAnswer[]> {
  const start = (batch: PaymentStart[], until: (p: PaymentStart) => number, shortfallMs: number) => {
    const [first] = batch;
    if (!first) return Promise.resolve([] as StartAnswer[]);
    return startPaymentScript.run(
      deps.redis,
      {},
      { timeoutMs, worker: WORKER_ID, events: first.k.events, leaseGraceMs: LEASE_GRACE_MS, shortfallMs },
      batch.map((p) => ({
        keys: { ticket: p.k.ticket },
        args: { holder: p.holder, seq: p.k.seq, leaseUntil: until(p) },
      })),
    );
  };
  // Fresh from acquire-slots, a lease already covers the payment: one round trip, not two.
  const fresh = starts.filter((p) => p.leaseUntil > 0);
  const firsts = await start(fresh, (p) => p.leaseUntil, SHORTFALL_MS);
  const byHolder = new Map(fresh.map((p, i) => [p.holder, firsts[i] ?? { status: "missing" }]));
  return Promise.all(
    starts.map(async (p) => {
      const first = byHolder.get(p.holder) ?? { status: "extend" };
      if (first.status !== "extend") return first;
      const lease = await extendLease(deps, p.holder, timeoutMs);
      if (!lease.leased) return { status: "noslot" };
      // Just stretched: whatever the round trip took comes off this payment's time, never off the lease.
      const [again] = await start([p], () => lease.deadline + LEASE_GRACE_MS, Number.MAX_SAFE_INTEGER);
      return again ?? { status: "missing" };
    }),
  );
}

/** Starts paying one reserved ticket (see startPayments). */
export async function startPayment(
  deps: Pick<Deps, "redis" | "keys">,
  k: TicketKeys,
  timeoutMs: number,
  holder: string,
  leaseUntil = 0,
): Promise<StartAnswer> {
  const [out] = await startPayments(deps, timeoutMs, [{ k, holder, leaseUntil }]);
  return out ?? { status: "missing" };
}
