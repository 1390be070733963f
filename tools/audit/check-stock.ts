import { type Check, countBy, invariant } from "./check.js";
import type { SaleState } from "./state.js";

// Invariants about units: oversell, conservation, nothing left reserved, and the
// two stores agreeing on every item.

export function noOversell(s: SaleState): Check {
  const v: string[] = [];
  for (const it of s.pgItems) {
    if (it.sold > it.stock || it.sold < 0)
      v.push(`item ${it.item_id}: PostgreSQL sold ${it.sold} of ${it.stock}`);
    const r = s.redisItems.get(it.item_id);
    if (r && r.sd > r.tot) v.push(`item ${it.item_id}: Redis sold ${r.sd} of ${r.tot}`);
    if (r && r.av < 0) v.push(`item ${it.item_id}: Redis available ${r.av}`);
  }
  if (s.redisSale && s.redisSale.av < 0) v.push(`sale: Redis available ${s.redisSale.av}`);
  return invariant(
    "no_oversell",
    "units sold <= stock, available >= 0, in both stores",
    s.pgItems.length,
    "items",
    v,
  );
}

export function conservation(s: SaleState): Check {
  const v: string[] = [];
  const sum = { tot: 0, av: 0, rs: 0, sd: 0, q: 0 };
  for (const it of s.pgItems) {
    const r = s.redisItems.get(it.item_id);
    if (!r) continue;
    if (r.av + r.rs + r.sd !== r.tot)
      v.push(`item ${it.item_id}: available ${r.av} + reserved ${r.rs} + sold ${r.sd} != stock ${r.tot}`);
    for (const k of ["tot", "av", "rs", "sd", "q"] as const) sum[k] += r[k];
  }
  const sale = s.redisSale;
  if (sale && (["tot", "av", "rs", "sd", "q"] as const).some((k) => sale[k] !== sum[k]))
    v.push(`sale totals ${JSON.stringify(sale)} != sum of its items ${JSON.stringify(sum)}`);
  return invariant(
    "conservation",
    "available + reserved + sold = stock, per item and for the sale",
    s.pgItems.length + 1,
    "items + sale",
    v,
  );
}

export function nothingReserved(s: SaleState): Check {
  const v: string[] = [];
  for (const [item, r] of s.redisItems) {
    if (r && r.rs !== 0) v.push(`item ${item}: ${r.rs} reserved`);
    if (r && r.q !== 0) v.push(`item ${item}: ${r.q} queued`);
  }
  for (const [user, n] of Object.entries(s.pending))
    if (Number(n) !== 0) v.push(`user ${user}: ${n} in line`);
  return invariant("reserved_zero", "at rest nothing is reserved or queued", s.redisItems.size, "items", v);
}

export function storesAgree(s: SaleState): Check {
  const v: string[] = [];
  if (s.userLimit === null) v.push(`PostgreSQL has no sale ${s.saleId}`);
  if (!s.redisSale && !s.retired) v.push(`Redis has no sale ${s.saleId}`);
  const perItem = countBy(s.purchases, (p) => p.item_id);
  for (const it of s.pgItems) {
    const bought = perItem.get(it.item_id) ?? 0;
    if (bought !== it.sold) v.push(`item ${it.item_id}: PostgreSQL sold ${it.sold}, purchases ${bought}`);
    const r = s.redisItems.get(it.item_id);
    if (s.redisSale && !r) v.push(`item ${it.item_id}: missing in Redis`);
    if (!r) continue;
    if (r.sd !== it.sold) v.push(`item ${it.item_id}: Redis sold ${r.sd}, PostgreSQL ${it.sold}`);
    if (r.tot !== it.stock) v.push(`item ${it.item_id}: Redis stock ${r.tot}, PostgreSQL ${it.stock}`);
  }
  const perUser = countBy(s.purchases, (p) => p.user_id);
  const users = new Set([...perUser.keys(), ...Object.keys(s.held), ...s.saleUsers.map((u) => u.user_id)]);
  const recorded = new Map(s.saleUsers.map((u) => [u.user_id, u.purchased]));
  for (const user of users) {
    const bought = perUser.get(user) ?? 0;
    const held = Number(s.held[user] ?? 0);
    if (s.redisSale && held !== bought)
      v.push(`user ${user}: Redis holds ${held}, PostgreSQL purchases ${bought}`);
    if ((recorded.get(user) ?? 0) !== bought)
      v.push(`user ${user}: sale_users ${recorded.get(user) ?? 0}, purchases ${bought}`);
  }
  return invariant(
    "stores_agree",
    "Redis and PostgreSQL agree on stock, units sold and each user's units",
    s.pgItems.length + users.size,
    "items + users",
    v,
  );
}
