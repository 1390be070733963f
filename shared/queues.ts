import type { Queue, QueueOptions, WorkerOptions } from "bullmq";
import { z } from "zod";
import type { Config } from "./config.js";
import { type Keys, TICKET_ID } from "./keys.js";

// Every queue's options in one place, with the reason for each.

export const CHECKOUT_QUEUE = "checkout";
export const CALENDAR_QUEUE = "calendar";

/** A checkout job carries only its ticket id; the ticket's state lives in Redis. */
export const checkoutJobSchema = z.object({ ticketId: z.string().regex(TICKET_ID) });
export type CheckoutJob = z.infer<typeof checkoutJobSchema>;

/** The job of one ticket: its id is the ticket's ref (shared/keys.ts), so a sleeping ticket is woken by it. */
export const TICKET_JOB = "ticket";
/**
 * The job of tickets of one sale admitted together (shared/ticket/enqueue.ts), served
 * in the order listed; a ticket that must sleep leaves it as a ticket job of its own.
 */
export const BATCH_JOB = "batch";

/** What a ticket's job carries (worker/process-ticket.ts parses it). */
export const ticketJobSchema = checkoutJobSchema.extend({
  saleId: z.string().regex(/^[0-9]{1,18}$/),
  itemId: z.string().min(1).max(64),
  userId: z.string().min(1).max(64),
});
export type TicketJob = z.infer<typeof ticketJobSchema>;

export const batchJobSchema = z
  .object({
    saleId: ticketJobSchema.shape.saleId,
    tickets: z.array(ticketJobSchema.omit({ saleId: true })).min(1),
  })
  // Every key a batch touches is its sale's: a ticket of another sale does not belong.
  .refine((b) => b.tickets.every((t) => t.ticketId.startsWith(`${b.saleId}-`)), {
    message: "every ticket of a batch is of its sale",
  });
export type BatchJob = z.infer<typeof batchJobSchema>;

export function checkoutQueueOptions(keys: Keys): Omit<QueueOptions, "connection"> {
  return {
    prefix: keys.bull,
    defaultJobOptions: {
      // Retries are for infrastructure errors (a store away for a while): a ticket
      // must end however long that takes, so attempts never run out in practice.
      // The processor is idempotent, so a retry never settles twice.
      attempts: 1_000_000,
      backoff: { type: "capped" },
      // Completed jobs: how many stay is the workers' to say (checkoutWorkerOptions), so
      // whichever process added a job, one setting keeps or removes it. A
      // failed job (a bad payload, or one edited into one on the dashboard) stays a day for
      // a person to look at; the sweeper retries it with its data rebuilt.
      removeOnFail: { age: 24 * 3600, count: 10_000 },
    },
    // BullMQ writes an event per job move to a stream kept at 10,000 by default; nothing
    // here reads it (bull-board reads the job lists, long polls read the tickets' own
    // channel), so keep only what a person tailing it would look at.
    streams: { events: { maxLen: 100 } },
  };
}

export function checkoutWorkerOptions(cfg: Config, keys: Keys): Omit<WorkerOptions, "connection"> {
  return {
    prefix: keys.bull,
    // Many tickets wait on I/O (a slot, a payment): one process holds many at once.
    concurrency: cfg.WORKER_CONCURRENCY,
    // A crashed worker's job is taken up again once its lock runs out.
    lockDuration: cfg.JOB_LOCK_MS,
    stalledInterval: Math.max(250, Math.floor(cfg.JOB_LOCK_MS / 2)),
    // A ticket must end even if workers keep dying under it.
    maxStalledCount: 50,
    // The ticket in Redis and PostgreSQL is the record; completed jobs stay only as the
    // queue dashboard's recent history, the newest JOB_HISTORY of them (count 0: removed at
    // once). BullMQ applies it to jobs that name no retention of their own: none here do.
    removeOnComplete: { count: cfg.JOB_HISTORY },
    settings: {
      // 100 ms doubling, capped at 5 s: a store that comes back is used within seconds.
      backoffStrategy: (attempts: number) => Math.min(100 * 2 ** Math.max(0, attempts - 1), 5000),
    },
  };
}

export function calendarQueueOptions(keys: Keys): Omit<QueueOptions, "connection"> {
  return {
    prefix: keys.bull,
    defaultJobOptions: {
      attempts: 5,
      backoff: { type: "exponential", delay: 1000 },
      removeOnComplete: { count: 100 },
      removeOnFail: { count: 100 },
    },
  };
}

export type CheckoutQueue = Queue<CheckoutJob | BatchJob>;
