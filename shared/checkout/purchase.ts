import type { Queue } from "bullmq";
import type { Deps } from "../deps.js";
import { AppError } from "../errors.js";
import { ticketId } from "../keys.js";
import { defineScript, str } from "../scripts/define.js";
import { parseCode } from "../ticket/codes.js";
import { wakeTickets } from "../ticket/enqueue.js";

const confirmHold = defineScript({
  name: "purchase",
  lua: new URL("./purchase.lua", import.meta.url),
  helpers: ["now_ms"],
  keys: ["ticket"],
  args: ["secret", "events", "seq", "ticketKey", "shopper"],
  // 'confirmed', 'again', 'unknown' or 'expired' (purchase.lua).
  decode: (raw) => ({ outcome: str(raw, 0) }),
});

/**
 * The contest's second step: a two_step ticket's checkout code confirms its hold, and
 * the ticket's job (asleep until the hold expires) is woken to pay, under the same
 * payment slots as any other. A code used again confirms nothing more: the answer is
 * the same ticket. Returns the ticket id.
 */
export async function purchase(deps: Deps, queue: Queue, code: string, shopper?: string): Promise<string> {
  const ref = parseCode(code);
  if (!ref) throw notFound();
  const { redis, keys } = deps;
  const { outcome } = await confirmHold.run(
    redis,
    { ticket: keys.ticket(ref.saleId, ref.seq) },
    // With shopper identity, another user's code is no code (checked in the script, before anything is confirmed).
    {
      secret: ref.secret,
      events: keys.events(ref.saleId),
      seq: ref.seq,
      ticketKey: ref.key,
      shopper: shopper ?? "",
    },
  );
  if (outcome === "unknown" || outcome === "expired") throw notFound();
  const id = ticketId(ref.saleId, ref.seq, ref.key);
  if (outcome === "confirmed") {
    // Not delayed (active right now): the worker looks at the confirmation after its own move.
    await wakeTickets(queue, ref.saleId, [ref.seq]);
  }
  return id;
}

const notFound = () => new AppError("code_not_found", "no such checkout code, or its hold has expired");
