// The contract's invariants as a client can check them, through the API only:
// the sale's stock (GET /sales/{id}) and each user's purchases
// (GET /users/{id}/purchases). The check itself is a pure function, so it can
// be tested on made-up answers; `invariant-inputs.ts` fetches the real ones.

// The contract's stock object, the same type the API answers with.
import type { Stock } from "../shared/fields.js";

export type { Stock };

export interface SaleView {
  sale_id: string;
  user_limit: number;
  stock: Stock;
  /** Two_step sales: seconds a checkout code holds its unit; null (or absent) for direct sales. */
  hold_s?: number | null;
}

export interface InvariantInput {
  /** The sale after the run (null if it could not be read). */
  sale: SaleView | null;
  /** Ticket ids of each checked user's purchases, as the API lists them. */
  apiPurchases: Map<string, string[]>;
  /** Ticket ids the crowd saw purchased, per user; null when users did not follow their tickets. */
  seenPurchases: Map<string, string[]> | null;
  /** Purchases the crowd saw in all. */
  crowdPurchases: number;
  /** Tickets followed but not final before their timeout. */
  unfinished: number;
  /** Accepted tickets looked up after the run (when users did not follow them). */
  sampledTickets: { ticketId: string; status: string | null }[];
}

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export interface InvariantResult {
  ok: boolean;
  checks: Check[];
}

const FINAL = new Set(["purchased", "rejected", "failed"]);

export function checkInvariants(input: InvariantInput): InvariantResult {
  const checks: Check[] = [];
  const add = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail });
  const { sale } = input;

  if (!sale) {
    add("sale readable", false, "GET /sales/{id} did not answer with the sale");
  } else {
    const { total, available, reserved, sold } = sale.stock;
    add(
      "stock conservation",
      available + reserved + sold === total,
      `available ${available} + reserved ${reserved} + sold ${sold} = ${available + reserved + sold}, total ${total}`,
    );
    add(
      "no oversell",
      sold <= total && available >= 0 && reserved >= 0,
      `sold ${sold} of ${total}, available ${available}`,
    );
    add("at rest", reserved === 0, `reserved ${reserved} after the run`);
    add(
      "crowd purchases within sold",
      input.crowdPurchases <= sold,
      `the crowd saw ${input.crowdPurchases} purchases, the sale sold ${sold}`,
    );
  }

  const limit = sale?.user_limit ?? Number.POSITIVE_INFINITY;
  let worst = 0;
  const over: string[] = [];
  for (const [user, tickets] of input.apiPurchases) {
    worst = Math.max(worst, tickets.length);
    if (tickets.length > limit) over.push(`${user} holds ${tickets.length}`);
  }
  add(
    "per-user limit",
    over.length === 0,
    over.length
      ? `over the limit of ${limit}: ${over.slice(0, 5).join(", ")}${over.length > 5 ? ", …" : ""}`
      : `${input.apiPurchases.size} users checked, at most ${worst} of ${limit}`,
  );

  const doubles: string[] = [];
  for (const [user, tickets] of input.apiPurchases) {
    if (new Set(tickets).size !== tickets.length) doubles.push(user);
  }
  add(
    "one purchase per ticket",
    doubles.length === 0,
    doubles.length ? `a ticket bought twice for ${doubles.slice(0, 5).join(", ")}` : "no ticket listed twice",
  );

  if (input.seenPurchases) {
    const mismatched: string[] = [];
    for (const [user, listed] of input.apiPurchases) {
      const seen = [...(input.seenPurchases.get(user) ?? [])].sort();
      const api = [...listed].sort();
      if (seen.join() !== api.join())
        mismatched.push(`${user} (saw ${seen.length}, API lists ${api.length})`);
    }
    add(
      "purchases recorded",
      mismatched.length === 0,
      mismatched.length
        ? `purchased tickets and listed purchases differ: ${mismatched.slice(0, 5).join(", ")}`
        : `every purchase the checked users saw is listed, and nothing else`,
    );
  }

  const open = input.sampledTickets.filter((t) => !t.status || !FINAL.has(t.status));
  add(
    "tickets final",
    input.unfinished === 0 && open.length === 0,
    `${input.unfinished} followed tickets not final in time; ` +
      `${open.length} of ${input.sampledTickets.length} sampled tickets not final`,
  );

  return { ok: checks.every((c) => c.ok), checks };
}
