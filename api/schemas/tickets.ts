import { z } from "@hono/zod-openapi";
import { count, id, iso, saleIdString, stockSchema } from "./common.js";

export const MAX_WAIT_MS = 30_000;
// Checkout's `?wait=MS`: always from the query string, also for a JSON-body checkout.
const checkoutWaitField = z.coerce.number().int().min(0).max(MAX_WAIT_MS).optional().openapi({
  description:
    "Hold the answer until the ticket has its checkout code (two_step sales) or is final, at most this many ms; the answer is then the ticket as it stands.",
});

const saleIdHelp =
  "The sale to buy in. Without it, the one open sale that has the item; an item id open in several sales is `409 sale_ambiguous`, naming them.";

/** Checkout's query form, the contest's: `?user_id=U&id=I` (or `item_id=I`). */
export const checkoutQuery = z
  .object({
    user_id: id.optional(),
    id: id.optional().openapi({ description: "The item id." }),
    item_id: id.optional().openapi({ description: "Another name for `id`; `id` wins if both are sent." }),
    sale_id: saleIdString.optional().openapi({ description: saleIdHelp }),
    wait: checkoutWaitField,
  })
  .superRefine((q, ctx) => {
    // Optional in the schema so the document does not demand them from a JSON-body
    // checkout; required here, where only the query form is parsed.
    if (q.user_id === undefined) ctx.addIssue({ code: "custom", path: ["user_id"], message: "is required" });
    if (q.id === undefined && q.item_id === undefined)
      ctx.addIssue({ code: "custom", path: ["id"], message: "is required (or item_id)" });
  })
  .openapi({ description: "The query form; leave these out when sending a JSON body." });

/** Checkout's JSON form; a JSON integer is accepted as an id. */
export const checkoutBody = z
  .object({
    user_id: id,
    item_id: id,
    sale_id: z
      .union([saleIdString, z.number().int().positive().max(Number.MAX_SAFE_INTEGER).transform(String)])
      .optional()
      .openapi({ description: `${saleIdHelp} Here, or as \`?sale_id=\`.` }),
  })
  .strict()
  .openapi("CheckoutRequest");

export const checkoutHeaders = z.object({
  "idempotency-key": z
    .string()
    .regex(/^[\x21-\x7e]{1,128}$/, "must be 1-128 visible ASCII characters")
    .optional()
    .openapi({
      description: "Replays the same ticket for a retried checkout of the same user and item.",
      example: "7c9e",
    }),
});

const codeField = z.string().nullable().optional().openapi({
  description:
    "Two_step sales only (absent otherwise): the checkout code for `POST /purchase` once a unit is held; null before.",
  example: "1-17-q7Hc2Zp0aXk9LmT4.x2Vb0nq1Xh2T5m0Zl3yQkA",
});
const expiresField = iso.nullable().optional().openapi({
  description: "Two_step sales only: when the hold ends unless `POST /purchase` came first.",
});

export const TICKET_STATUSES = ["queued", "reserved", "paying", "purchased", "rejected", "failed"] as const;

export const checkoutAccepted = z
  .object({
    ticket_id: z.string().openapi({ example: "1-17-q7Hc2Zp0aXk9LmT4" }),
    status: z.enum(TICKET_STATUSES).openapi({
      description:
        "`queued`; a replayed ticket's status now; with `?wait`, the ticket's status when the answer is sent (any status: `reserved` with its code, or already final).",
    }),
    position: count.nullable().openapi({
      description:
        "Place in the item's line; null once out of it, or in the fair-start room until the opening.",
    }),
    eta_ms: count.nullable().openapi({ description: "Expected ms until the ticket leaves the line." }),
    stock: stockSchema.nullable(),
    poll_url: z.string().openapi({ example: "/tickets/1-17-q7Hc2Zp0aXk9LmT4" }),
    poll_after_ms: count.openapi({
      description: "When to poll again: short near the front, longer far back (100 ms to 10 s).",
    }),
    reason: z.string().nullable().optional().openapi({
      description:
        "With `?wait` or a replay, once the ticket is `rejected` or `failed`: why (as on the ticket); null otherwise.",
    }),
    purchase_id: z.string().nullable().optional().openapi({
      description: "With `?wait` or a replay, once the ticket is `purchased`: its purchase; null otherwise.",
    }),
    code: codeField,
    expires_at: expiresField,
  })
  .strict()
  .openapi("CheckoutAccepted");

export const ticketParams = z.object({
  // Not pattern-checked here: an id that is not a ticket's is 404 ticket_not_found, not 400.
  ticket_id: z.string().openapi({
    description:
      "`<sale_id>-<seq>-<key>`, as returned by checkout; the key (96 random bits) makes it unguessable, so only whoever was given the id can read the ticket.",
    example: "1-17-q7Hc2Zp0aXk9LmT4",
  }),
});

export const ticketQuery = z.object({
  wait: z.coerce
    .number()
    .int()
    .min(0)
    .max(MAX_WAIT_MS)
    .optional()
    .openapi({ description: "Long poll: answer as soon as the status changes, or after this many ms." }),
  seen: z.enum(TICKET_STATUSES).optional().openapi({
    description:
      "With `wait`: the status the client last saw. The answer comes as soon as the status is another (at once if it already is), so a change between two polls is never waited through. Without it, the status when the wait begins.",
  }),
});

export const ticketSchema = z
  .object({
    ticket_id: z.string(),
    status: z.enum(TICKET_STATUSES),
    reason: z.string().nullable().openapi({
      description:
        "Why a ticket was rejected (`sold_out`, `user_limit_reached`, `sale_not_active`, `cancelled` by `DELETE /tickets/{ticket_id}`) or failed (`payment_declined`, `payment_timeout`, `hold_expired`).",
    }),
    user_id: z.string(),
    item_id: z.string(),
    sale_id: saleIdString,
    position: count.nullable().openapi({
      description:
        "While queued: 1 + the tickets for the same item ahead of it and still queued (exact when read; never less than the truth). Null otherwise, and in the fair-start room until it is shuffled at the opening.",
    }),
    eta_ms: count.nullable().openapi({
      description:
        "While queued: expected ms until the ticket leaves the line (reserved or rejected), from the item's measured pace; null until measured.",
    }),
    poll_after_ms: count.nullable().openapi({
      description:
        "When to poll again: short near the front, longer far back (100 ms to 10 s); null once final. `?wait=` or `/events` avoid polling.",
    }),
    stock: stockSchema.nullable().openapi({
      description: "The item's stock now, so a shopper far back learns early that it is gone.",
    }),
    purchase_id: z.string().nullable(),
    created_at: iso,
    updated_at: iso,
    code: codeField,
    expires_at: expiresField,
  })
  .strict()
  .openapi("Ticket");

/** POST /purchase: the code in the query (the contest's form) or a JSON body. */
export const purchaseQuery = z.object({
  code: z.string().max(200).optional().openapi({ description: "The checkout code; or send a JSON body." }),
});
export const purchaseBody = z
  .object({ code: z.string().min(1).max(200) })
  .strict()
  .openapi("PurchaseRequest");

export const ticketEvents = z.string().openapi({
  description:
    "Server-sent events: the ticket now (`event: <status>`, `data:` the Ticket as JSON), then one event per change (status, or place in line while queued) until a final status, after which the stream closes. A comment line every 15 s keeps idle connections open.",
  example: 'event: queued\ndata: {"ticket_id":"1-17-q7Hc2Zp0aXk9LmT4","status":"queued",...}\n\n',
});
