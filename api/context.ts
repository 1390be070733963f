import type { Queue } from "bullmq";
import type { AttemptRecorder } from "../shared/checkout/attempts.js";
import type { SoldOutMemo } from "../shared/checkout/sold-out.js";
import type { Deps } from "../shared/deps.js";
import type { CounterSink } from "../shared/metrics/counters.js";
import type { SaleDirectory } from "../shared/sale/directory.js";
import type { Enqueuer } from "../shared/ticket/enqueue.js";
import type { TicketEvents } from "../shared/ticket/events.js";
import type { OpenWaits } from "./open-waits.js";

/** What the routes share: the stores, the sale directory, and the queue's producer side. */
export interface ApiCtx {
  deps: Deps;
  directory: SaleDirectory;
  enqueuer: Enqueuer;
  attempts: AttemptRecorder;
  /** Items seen sold out a moment ago, refused without asking Redis. */
  soldOut: SoldOutMemo;
  /** The checkout queue, which the API feeds. */
  queue: Queue;
  /** Every queue of the system, for the dashboard and metrics. */
  queues: Queue[];
  counters: CounterSink;
  /** Ticket changes pushed from Redis, for long polls and event streams. */
  events: TicketEvents;
  /** Long polls, checkout waits and event streams open per client, bounded. */
  waits: OpenWaits;
}
