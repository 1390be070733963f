// Every Redis key the system uses, in one place. All keys of one sale share the
// hash tag `{s<id>}`, so each Lua script touches a single cluster slot.

export type Keys = ReturnType<typeof makeKeys>;

export function makeKeys(prefix: string) {
  const sale = (saleId: string) => `${prefix}:{s${saleId}}`;
  // Keys not of one sale share the tag {g}: the scripts and MULTIs that use two of
  // them together (slots + payments, inflight + peak) then touch a single cluster slot.
  const global = `${prefix}:{g}`;
  return {
    prefix,
    /** BullMQ's own prefix for queue keys: a hash tag, so each of its scripts touches one cluster slot. */
    bull: `{${prefix}:bull}`,
    /** ZSET saleId -> starts_at (ms): every sale loaded in Redis. */
    timeline: `${global}:timeline`,
    /** HASH: payment simulator settings and slot count (see shared/payment/settings.ts). */
    payments: `${global}:payments`,
    /** ZSET holder -> lease expiry (ms): the payment-slot semaphore. */
    slots: `${global}:slots`,
    /** ZSET payment id -> deadline (ms): payments in flight, kept by the simulator. */
    inflight: `${global}:payments:inflight`,
    /** STRING: most payments in flight at once since the settings last changed. */
    peak: `${global}:payments:peak`,
    /** HASH: throughput counters (accepted, purchased, ...). */
    counters: `${global}:counters`,
    /** STRING: held by the one worker sweeping for orphaned tickets. */
    sweepLock: `${global}:sweep:lock`,
    /** ZSET saleId -> starts_at (ms): sales created or reloaded, whose fair-start room may need opening (shared/sale/rooms.ts). */
    rooms: `${global}:rooms`,
    /**
     * STRING: this Redis's epoch, set once its state has been built. Missing means
     * Redis lost its data (restarted empty): shared/recovery rebuilds it from PostgreSQL.
     */
    epoch: `${global}:epoch`,
    /** STRING: held by the one process rebuilding an emptied Redis. */
    rebuildLock: `${global}:rebuild:lock`,
    /** LIST of JSON lines, newest first, capped: the recent admin actions (api/admin-actions.ts). */
    adminActions: `${global}:admin:actions`,
    /**
     * HASH: a token bucket of the checkout rate limit per client address (the
     * per-user one is `userBucket`, with the sale's keys).
     */
    rateBucket: (client: string) => `${prefix}:{rl}:client:${client}`,

    /** HASH: sale meta and totals (status, window, limit, tot/av/rs/sd/q, ticket sequence). */
    sale: (saleId: string) => `${sale(saleId)}:sale`,
    /**
     * STRING, set by a reload of the sale before its first write and deleted when it publishes
     * the sale hash: while it stands without the hash, a reload is under way or died half-way.
     */
    saleUnpublished: (saleId: string) => `${sale(saleId)}:unpublished`,
    /**
     * HASH per item: tot, av (available), rs (reserved), sd (sold), q (queued), n (line sequence),
     * gap (smoothed ms between tickets leaving the line) over gn samples (capped at 5),
     * lt (when the last one left, while others wait).
     */
    item: (saleId: string, itemId: string) => `${sale(saleId)}:i:${itemId}`,
    /** Prefix the Lua scripts append an item id to. */
    itemPrefix: (saleId: string) => `${sale(saleId)}:i:`,
    /**
     * ZSET ticket seq -> seq: every queued ticket of this item (in the BullMQ queue
     * or on the waitlist), so a ticket's place in line is one ZRANK.
     */
    line: (saleId: string, itemId: string) => `${sale(saleId)}:l:${itemId}`,
    /** ZSET ticket seq -> seq: tickets waiting for a unit of this item, earliest first. */
    waitlist: (saleId: string, itemId: string) => `${sale(saleId)}:w:${itemId}`,
    waitlistPrefix: (saleId: string) => `${sale(saleId)}:w:`,
    /** HASH user -> units held (reserved + purchased). */
    held: (saleId: string) => `${sale(saleId)}:uh`,
    /** HASH user -> tickets accepted and not yet holding a unit or final. */
    pending: (saleId: string) => `${sale(saleId)}:up`,
    /** HASH: a user's token bucket of the checkout rate limit, taken by admit.lua in the checkout's one call. */
    userBucket: (saleId: string, userId: string) => `${sale(saleId)}:rb:${userId}`,
    /**
     * ZSET ticket seq -> created_at (ms): a user's tickets in this sale, written at admission
     * (admit.lua, readmit.lua), for GET /users/{id}/tickets. Under the sale's tag, so it
     * leaves Redis with the sale (shared/sale/retire.ts).
     */
    userTickets: (saleId: string, userId: string) => `${sale(saleId)}:ut:${userId}`,
    userTicketsPrefix: (saleId: string) => `${sale(saleId)}:ut:`,
    /** HASH per ticket. */
    ticket: (saleId: string, seq: string) => `${sale(saleId)}:t:${seq}`,
    ticketPrefix: (saleId: string) => `${sale(saleId)}:t:`,
    /** STRING: held by the one process loading this sale from PostgreSQL. */
    loadLock: (saleId: string) => `${sale(saleId)}:loading`,
    /** STRING: the lowest ticket seq of the sale that may still need sweeping. */
    sweepCursor: (saleId: string) => `${sale(saleId)}:sweep`,
    /**
     * PUB/SUB channel: space-separated "seq:status:ms" words, one per ticket whose status
     * changed and when (shared/ticket/events.ts).
     */
    events: (saleId: string) => `${sale(saleId)}:events`,
    /** PSUBSCRIBE pattern matching every sale's events channel. */
    eventsPattern: `${prefix}:{s*}:events`,
    /**
     * HASH: how the sale sells, kept apart from the sale hash so it is written before the
     * sale is published: cm ('two_step', absent = direct), hold (ms a code is held), and
     * fs, the fair-start room ('room' filling, 'draining' being queued, 'open' done).
     */
    saleMode: (saleId: string) => `${sale(saleId)}:x`,
    /** LIST "seq:item:user": tickets accepted into the fair-start room, in arrival order. */
    room: (saleId: string) => `${sale(saleId)}:room`,
    /** LIST "seq:item:user": the room in the order its opener drew, handed to open-room.lua. */
    roomDraw: (saleId: string) => `${sale(saleId)}:rd`,
    /** LIST "seq:item:user": the shuffled room, then later tickets, waiting to be queued in this order. */
    roomOut: (saleId: string) => `${sale(saleId)}:rq`,
    /** STRING: held by the one worker opening (shuffling and queueing) the room. */
    roomLock: (saleId: string) => `${sale(saleId)}:rl`,
    /**
     * STRING per user and Idempotency-Key: the ticket it created. Per user, so one shopper
     * can neither claim nor block another's key. The user id cannot contain ':' (ids are
     * [A-Za-z0-9_-]), so the two parts never run together.
     */
    idempotency: (saleId: string, userId: string, key: string) => `${sale(saleId)}:k:${userId}:${key}`,
  };
}

/**
 * A ticket's place in the system, `<sale>-<seq>`: queue job ids and wake-ups use it. Not
 * a ticket id: anyone could count through these.
 */
export function ticketRef(saleId: string, seq: string | number): string {
  return `${saleId}-${seq}`;
}

/**
 * A ticket's id, `<sale>-<seq>-<key>`: its place (so a poll finds its keys without a
 * lookup) and a key of 96 random bits kept in the ticket (field k), so only whoever was
 * given the id can read the ticket, its events and its code.
 */
export function ticketId(saleId: string, seq: string | number, key: string): string {
  return `${saleId}-${seq}-${key}`;
}

/** A ticket key's shape: 12 bytes in unpadded base64url. */
export const TICKET_ID = /^([0-9]{1,18})-([0-9]{1,18})-([A-Za-z0-9_-]{16})$/;

export function parseTicketId(id: string): { saleId: string; seq: string; key: string } | null {
  const m = TICKET_ID.exec(id);
  return m?.[1] && m[2] && m[3] ? { saleId: m[1], seq: m[2], key: m[3] } : null;
}

/** The ref (`<sale>-<seq>`) of a ticket id, for its queue job (the key may itself hold a '-'). */
export function refOf(ticketId: string): string {
  const second = ticketId.indexOf("-", ticketId.indexOf("-") + 1);
  return second < 0 ? ticketId : ticketId.slice(0, second);
}
