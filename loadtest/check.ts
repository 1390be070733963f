import * as api from "./api.js";
import type { HttpClient } from "./http.js";
import { checkInvariants, type InvariantResult, type SaleView } from "./invariants.js";
import type { LoadOptions } from "./options.js";
import type { Stats } from "./stats.js";

// After the crowd: let the sale come to rest, read back what was sold, and
// check the invariants.

// Requests at once when reading purchases back.
export const CHECK_LANES = 16;
// Accepted tickets looked up afterwards when users did not follow their own.
const TICKETS_CHECKED = 200;

export const userId = (o: LoadOptions, i: number) => `${o.userPrefix}${i}`;

/** Lets the sale come to rest, then checks the invariants against it. */
export async function settleAndCheck(
  o: LoadOptions,
  http: HttpClient,
  saleId: string,
  stats: Stats,
  random: () => number,
) {
  // Users that did not follow their tickets leave a line behind them: let it drain first.
  if (!o.plan.poll && stats.lastAccepted) await api.ticketStatus(http, stats.lastAccepted, o.settleS * 1000);
  const atRest = await api.saleAtRest(http, saleId, o.settleS * 1000);
  return { sold: atRest.stock.sold, invariants: await invariantsOf(o, http, atRest, stats, random) };
}

function checkedUsers(o: LoadOptions, stats: Stats, random: () => number): string[] {
  const started = stats.users.started + stats.users.dropped;
  if (o.checkUsers === "all") return Array.from({ length: started }, (_, i) => userId(o, i));
  // Buyers first (where a limit or a lost purchase would show), then anyone.
  const picked = new Set<string>();
  const buyers = [...stats.purchasesByUser.keys(), ...stats.acceptedSample.map((t) => t.userId)];
  for (const u of buyers.sort(() => random() - 0.5)) {
    if (picked.size >= Math.ceil(o.checkUsers / 2)) break;
    picked.add(u);
  }
  for (let tries = 0; picked.size < Math.min(o.checkUsers, started) && tries < o.checkUsers * 4; tries++) {
    picked.add(userId(o, Math.floor(random() * started)));
  }
  return [...picked];
}

async function invariantsOf(
  o: LoadOptions,
  http: HttpClient,
  sale: SaleView,
  stats: Stats,
  random: () => number,
): Promise<InvariantResult> {
  const apiPurchases = new Map<string, string[]>();
  await api.eachLimited(checkedUsers(o, stats, random), CHECK_LANES, async (u) => {
    apiPurchases.set(u, await api.userPurchases(http, u, sale.sale_id));
  });
  const sampledTickets: { ticketId: string; status: string | null }[] = [];
  if (!o.plan.poll) {
    const sample = stats.acceptedSample.slice(0, TICKETS_CHECKED);
    await api.eachLimited(sample, CHECK_LANES, async (t) => {
      sampledTickets.push({
        ticketId: t.ticketId,
        status: await api.ticketStatus(http, t, o.settleS * 1000),
      });
    });
  }
  return checkInvariants({
    sale,
    apiPurchases,
    seenPurchases: o.plan.poll ? stats.purchasesByUser : null,
    crowdPurchases: stats.purchases,
    unfinished: stats.finals.unfinished,
    sampledTickets,
  });
}
