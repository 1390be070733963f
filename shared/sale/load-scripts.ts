import { defineBatchScript, defineScript } from "../scripts/define.js";

// The two scripts a sale's load runs in Redis (shared/sale/load.ts): load-items, a batch
// of items at a time, then publish-sale, last, which writes the sale hash.

export const loadItemsScript = defineBatchScript({
  name: "loadItems",
  lua: new URL("./load-items.lua", import.meta.url),
  keys: [],
  args: [],
  each: { keys: ["item"], args: ["total", "sold"] },
  // An item already in Redis is left as it is: loading twice changes nothing.
  decode: (raw) => ({ added: Number(raw) }),
});

export const publishSaleScript = defineScript({
  name: "publishSale",
  lua: new URL("./publish-sale.lua", import.meta.url),
  keys: ["sale", "pending", "unpublished"],
  args: ["saleId", "startsAt", "endsAt", "userLimit", "items", "total", "sold", "firstTicketSeq"],
  decode: (raw) => ({ published: raw === 1 }),
});
