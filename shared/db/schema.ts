import { type SQLWrapper, sql } from "drizzle-orm";
import {
  bigint,
  bigserial,
  check,
  foreignKey,
  index,
  integer,
  pgTable,
  primaryKey,
  text,
  timestamp,
} from "drizzle-orm/pg-core";

// PostgreSQL is the record: sales, items, purchases, checkout attempts. Its
// constraints are the second guard behind Redis (contract invariant 4).

export const sales = pgTable(
  "sales",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    // One sale per window: 'hourly:2026-11-22T10' for the calendar, a random key for ad-hoc sales.
    slotKey: text("slot_key").notNull().unique(),
    kind: text("kind").notNull(),
    startsAt: timestamp("starts_at", { withTimezone: true, mode: "date" }).notNull(),
    endsAt: timestamp("ends_at", { withTimezone: true, mode: "date" }).notNull(),
    userLimit: integer("user_limit").notNull(),
    itemCount: integer("item_count").notNull(),
    // 'direct' pays at once; 'two_step' holds the unit behind a checkout code for hold_s (POST /purchase).
    checkoutMode: text("checkout_mode").notNull().default("direct"),
    holdS: integer("hold_s").notNull().default(30),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (t) => [
    check("sales_window", sql`${t.endsAt} > ${t.startsAt}`),
    check("sales_user_limit", sql`${t.userLimit} > 0`),
    check("sales_checkout_mode", sql`${t.checkoutMode} in ('direct', 'two_step')`),
    check("sales_hold_s", sql`${t.holdS} > 0`),
    index("sales_starts_at").on(t.startsAt),
  ],
);

/**
 * Natural order of item ids: the text before the first digit, then the number its first run
 * of digits makes (-1 without one), then the id as text; so 1, 2, 10, 100, and A2 before A10.
 */
export const itemIdPrefix = (id: SQLWrapper) => sql`substring(${id} from '^[^0-9]*')`;
export const itemIdNumber = (id: SQLWrapper) =>
  sql`coalesce(substring(${id} from '^[^0-9]*([0-9]+)')::numeric, -1)`;

export const items = pgTable(
  "items",
  {
    saleId: bigint("sale_id", { mode: "number" })
      .notNull()
      .references(() => sales.id),
    itemId: text("item_id").notNull(),
    name: text("name").notNull(),
    imageUrl: text("image_url").notNull(),
    stock: integer("stock").notNull(),
    sold: integer("sold").notNull().default(0),
  },
  (t) => [
    primaryKey({ columns: [t.saleId, t.itemId] }),
    // No oversell, whatever Redis says.
    check("items_sold_within_stock", sql`${t.sold} >= 0 AND ${t.sold} <= ${t.stock}`),
    index("items_item_id").on(t.itemId),
    // A sale's items in natural id order (shared/sale/view.ts listItems sorts and pages by
    // these same expressions): a page of a 10,000-item sale reads its rows, not all of them.
    index("items_natural_order").on(t.saleId, itemIdPrefix(t.itemId), itemIdNumber(t.itemId), t.itemId),
  ],
);

export const purchases = pgTable(
  "purchases",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    // A ticket yields at most one purchase, however often its job is retried.
    ticketId: text("ticket_id").notNull().unique(),
    saleId: bigint("sale_id", { mode: "number" }).notNull(),
    itemId: text("item_id").notNull(),
    userId: text("user_id").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull().defaultNow(),
  },
  (t) => [
    foreignKey({ columns: [t.saleId, t.itemId], foreignColumns: [items.saleId, items.itemId] }),
    index("purchases_user_sale").on(t.userId, t.saleId),
  ],
);

export const saleUsers = pgTable(
  "sale_users",
  {
    saleId: bigint("sale_id", { mode: "number" })
      .notNull()
      .references(() => sales.id),
    userId: text("user_id").notNull(),
    purchased: integer("purchased").notNull(),
    // Copied from the sale so a CHECK can hold the per-user limit.
    userLimit: integer("user_limit").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.saleId, t.userId] }),
    check("sale_users_within_limit", sql`${t.purchased} >= 0 AND ${t.purchased} <= ${t.userLimit}`),
  ],
);

export const checkoutAttempts = pgTable(
  "checkout_attempts",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    saleId: bigint("sale_id", { mode: "number" }),
    itemId: text("item_id").notNull(),
    userId: text("user_id").notNull(),
    ticketId: text("ticket_id"),
    // 'accepted', or the error code the shopper got.
    outcome: text("outcome").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true, mode: "date" }).notNull(),
  },
  // By time too: rows past ATTEMPTS_RETENTION_DAYS are pruned (scheduler/calendar.ts).
  (t) => [index("checkout_attempts_sale").on(t.saleId), index("checkout_attempts_created").on(t.createdAt)],
);
