import { createBatcher } from "../batcher.js";
import { checkoutAttempts } from "../db/schema.js";
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
      await deps.db.insert(checkoutAttempts).values(
        rows.map((r) => ({
          saleId: r.saleId === null ? null : Number(r.saleId),
          itemId: r.itemId,
          userId: r.userId,
          ticketId: r.ticketId,
          outcome: r.outcome,
          createdAt: r.at,
        })),
      );
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
