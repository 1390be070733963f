import { createBatcher } from "../shared/batcher.js";
import type { Deps } from "../shared/deps.js";
import type { PaymentSettings } from "../shared/payments/settings.js";
import { paymentsEnded, paymentsStarted } from "./payment-simulator.js";
import type { SettingsWatcher } from "./settings-watcher.js";
import type { SlotPool } from "./slots.js";
import { type PaymentStart, startPayments } from "./steps.js";

export interface Started {
  /** 'paying', 'busy' (another attempt pays the ticket), 'noslot' (the lease ran out), or the ticket's status. */
  status: string;
  /** The settings the payment runs with (read once for the tickets started together). */
  settings: PaymentSettings;
}

/**
 * Where a worker process's payments start and end. Tickets granted slots in the same
 * tick start together: one start-payment call per sale and one count of the simulator's
 * for all of them; payments ending in the same tick stop counting and free their slots
 * in one round trip.
 */
export function createPaymentDesk(
  deps: Pick<Deps, "redis" | "keys">,
  settings: SettingsWatcher,
  slots: SlotPool,
) {
  const starts = createBatcher<PaymentStart, Started>(
    async (batch) => {
      const s = settings.get();
      const bySale = new Map<string, number[]>();
      batch.forEach((p, i) => {
        const group = bySale.get(p.k.sale);
        if (group) group.push(i);
        else bySale.set(p.k.sale, [i]);
      });
      const out: Started[] = batch.map(() => ({ status: "missing", settings: s }));
      await Promise.all(
        [...bySale.values()].map(async (group) => {
          const res = await startPayments(
            deps,
            s.timeout_ms,
            group.map((i) => batch[i] as PaymentStart),
          );
          group.forEach((i, j) => {
            out[i] = { status: res[j]?.[0] ?? "missing", settings: s };
          });
        }),
      );
      const paying = batch.filter((_, i) => out[i]?.status === "paying").map((p) => p.holder);
      await paymentsStarted(deps, paying, s.timeout_ms);
      return out;
    },
    { max: 500, waitMs: 0, concurrency: 4 },
  );
  const ends = createBatcher<string, void>(
    async (holders) => {
      await paymentsEnded(deps, holders, (pipe) => pipe.zrem(deps.keys.slots, ...holders));
      slots.freed();
      return holders.map(() => undefined);
    },
    { max: 500, waitMs: 0, concurrency: 4 },
  );
  return {
    /** Starts paying a reserved ticket whose slot was just granted. */
    start: (p: PaymentStart) => starts.push(p),
    /** The payment of `holder` ended: it stops counting and its slot is free. */
    end: (holder: string) => ends.push(holder),
  };
}

export type PaymentDesk = ReturnType<typeof createPaymentDesk>;
