import { createBatcher, type Done, perGroup } from "../batcher.js";
import type { Deps } from "../deps.js";
import type { TicketKeys } from "../ticket/ticket-keys.js";
import { markPaidMany, type Paid } from "./mark-paid.js";
import type { PaymentSettings } from "./settings-shape.js";
import type { SettingsWatcher } from "./settings-watcher.js";
import { paymentsEnded, paymentsStarted } from "./simulator.js";
import type { SlotPool } from "./slots.js";
import { type PaymentStart, type StartAnswer, startPayments } from "./start-payment.js";

export interface Started {
  /** 'paying', 'busy' (another attempt pays the ticket), 'noslot' (the lease ran out), or the ticket's status. */
  status: StartAnswer["status"];
  /** The settings the payment runs with (read once for the tickets started together). */
  settings: PaymentSettings;
}

const unwrap = <R>(d: Done<R>): R => {
  if ("error" in d) throw d.error;
  return d.ok;
};

/**
 * Where a worker process's payments start and end. Tickets granted slots in the same
 * tick start together: one start-payment call per sale and one count of the simulator's
 * for all of them; payments ending in the same tick stop counting and free their slots
 * in one round trip, and approvals answering together are recorded in one call per sale.
 * A call that fails fails the tickets of its sale, not the others.
 */
export function createPaymentDesk(
  deps: Pick<Deps, "redis" | "keys" | "log">,
  settings: SettingsWatcher,
  slots: SlotPool,
) {
  const starts = createBatcher<PaymentStart, Done<Started>>(
    async (batch) => {
      const s = settings.get();
      const res = await perGroup(
        batch,
        (p) => p.k.sale,
        (group) => startPayments(deps, s.timeout_ms, group),
      );
      const paying = batch.flatMap((p, i) => {
        const r = res[i];
        return r && "ok" in r && r.ok.status === "paying"
          ? [{ id: p.holder, deadline: Number(r.ok.deadline) }]
          : [];
      });
      // The payments run even if the simulator's count could not be taken: it may then
      // show fewer in flight than ran, never more.
      await paymentsStarted(deps, paying).catch((err: unknown) =>
        deps.log.warn({ err: String(err) }, "could not count payments in flight"),
      );
      return res.map((r) => ("ok" in r ? { ok: { status: r.ok.status, settings: s } } : r));
    },
    { max: 500, waitMs: 0, concurrency: 4 },
  );
  const ends = createBatcher<string, void>(
    async (holders) => {
      // In this order, in one tick: out of flight first, then free (never a free slot with its
      // payment still counted; one connection keeps the order, and both keys share the {g} tag).
      await Promise.all([paymentsEnded(deps, holders), slots.release(...holders)]);
      return holders.map(() => undefined);
    },
    { max: 500, waitMs: 0, concurrency: 4 },
  );
  const approvals = createBatcher<{ k: TicketKeys; holder: string }, Done<Paid>>(
    (batch) =>
      perGroup(
        batch,
        (p) => p.k.sale,
        (group) => markPaidMany(deps, group),
      ),
    { max: 500, waitMs: 0, concurrency: 4 },
  );
  return {
    /** Starts paying a reserved ticket whose slot was just granted. */
    start: async (p: PaymentStart) => unwrap(await starts.push(p)),
    /** The payment of `holder` ended: it stops counting and its slot is free. */
    end: (holder: string) => ends.push(holder),
    /** Records an approved payment: paid, or late (see markPaidMany). */
    approve: async (k: TicketKeys, holder: string) => unwrap(await approvals.push({ k, holder })),
  };
}

export type PaymentDesk = ReturnType<typeof createPaymentDesk>;
