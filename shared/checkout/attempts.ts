import type { Deps } from "../deps.js";

export interface Attempt {
  saleId: string | null;
  itemId: string;
  userId: string;
  ticketId: string | null;
  outcome: string;
  /** When (ms since the epoch). */
  at: number;
}

// Rows per INSERT, and how long a row may wait for others.
const MAX_ROWS = 2000;
const WAIT_MS = 100;

// Attempts are written in the background, many rows per INSERT, so recording
// never slows the answer. In a flood nearly every request is a refusal recorded
// here, so a row costs six array slots: no promise, no Date, no ISO string per
// row. Rows still buffered when a process is killed are lost; a clean stop
// (SIGTERM) drains them.
export function createAttemptRecorder(deps: Pick<Deps, "db" | "log">) {
  const empty = () => ({
    sale: [] as (string | null)[],
    item: [] as string[],
    user: [] as string[],
    ticket: [] as (string | null)[],
    outcome: [] as string[],
    at: [] as number[],
  });
  let rows = empty();
  let timer: NodeJS.Timeout | null = null;
  // One INSERT at a time, in order.
  let writing: Promise<void> = Promise.resolve();

  const insert = async (batch: ReturnType<typeof empty>) => {
    // One statement of arrays, not thousands of bound parameters.
    const sql = deps.db.client;
    await sql`
      insert into checkout_attempts (sale_id, item_id, user_id, ticket_id, outcome, created_at)
      select s, i, u, t, o, to_timestamp(a / 1000.0) from unnest(
        ${sql.array(batch.sale)}::bigint[],
        ${sql.array(batch.item)}::text[],
        ${sql.array(batch.user)}::text[],
        ${sql.array(batch.ticket)}::text[],
        ${sql.array(batch.outcome)}::text[],
        ${sql.array(batch.at)}::bigint[]
      ) as x(s, i, u, t, o, a)`;
  };

  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    if (rows.at.length === 0) return writing;
    const batch = rows;
    rows = empty();
    writing = writing.then(() =>
      insert(batch).catch((err: unknown) =>
        deps.log.warn({ err: String(err), rows: batch.at.length }, "could not record checkout attempts"),
      ),
    );
    return writing;
  };

  return {
    record(a: Attempt) {
      rows.sale.push(a.saleId);
      rows.item.push(a.itemId);
      rows.user.push(a.userId);
      rows.ticket.push(a.ticketId);
      rows.outcome.push(a.outcome);
      rows.at.push(a.at);
      if (rows.at.length >= MAX_ROWS) void flush();
      else timer ??= setTimeout(flush, WAIT_MS);
    },
    async drain() {
      await flush();
    },
  };
}

export type AttemptRecorder = ReturnType<typeof createAttemptRecorder>;
