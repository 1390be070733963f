import { createBatcher } from "../batcher.js";
import type { Deps } from "../deps.js";

export interface Attempt {
  saleId: string | null;
  itemId: string;
  userId: string;
  ticketId: string | null;
  outcome: string;
  at: Date;
}

// Attempts are written in the background, many rows per INSERT, so recording
// never slows the answer. Rows still buffered when a process is killed are lost;
// a clean stop (SIGTERM) drains them.
export function createAttemptRecorder(deps: Pick<Deps, "db" | "log">) {
  const batcher = createBatcher<Attempt, void>(
    async (rows) => {
      // One statement of arrays, not thousands of bound parameters.
      const sql = deps.db.client;
      await sql`
        insert into checkout_attempts (sale_id, item_id, user_id, ticket_id, outcome, created_at)
        select * from unnest(
          ${sql.array(rows.map((r) => r.saleId))}::bigint[],
          ${sql.array(rows.map((r) => r.itemId))}::text[],
          ${sql.array(rows.map((r) => r.userId))}::text[],
          ${sql.array(rows.map((r) => r.ticketId))}::text[],
          ${sql.array(rows.map((r) => r.outcome))}::text[],
          ${sql.array(rows.map((r) => r.at.toISOString()))}::timestamptz[]
        )`;
      return rows.map(() => undefined);
    },
    { max: 2000, waitMs: 100 },
  );
  return {
    record(a: Attempt) {
      batcher
        .push(a)
        .catch((err) => deps.log.warn({ err: String(err) }, "could not record checkout attempts"));
    },
    drain: () => batcher.drain(),
  };
}

export type AttemptRecorder = ReturnType<typeof createAttemptRecorder>;
