import type { Deps } from "../deps.js";
import { parseTicketId } from "../keys.js";
import type { TicketJob } from "../queues.js";

/**
 * The keys a ticket's steps touch (reserve, start-payment, mark-paid, release, finalize),
 * named once from its job. One ticket's keys all share its sale's hash tag.
 */
export function ticketKeys(deps: Pick<Deps, "keys">, job: TicketJob) {
  const ref = parseTicketId(job.ticketId);
  if (!ref) throw new Error(`bad ticket id ${job.ticketId}`);
  const { keys } = deps;
  const s = ref.saleId;
  return {
    seq: ref.seq,
    sale: keys.sale(s),
    item: keys.item(s, job.itemId),
    held: keys.held(s),
    pending: keys.pending(s),
    ticket: keys.ticket(s, ref.seq),
    waitlist: keys.waitlist(s, job.itemId),
    line: keys.line(s, job.itemId),
    mode: keys.saleMode(s),
    events: keys.events(s),
    ticketPrefix: keys.ticketPrefix(s),
  };
}

export type TicketKeys = ReturnType<typeof ticketKeys>;
