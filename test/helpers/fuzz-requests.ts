import { adminBad, adminNoAuth } from "./fuzz-admin.js";
import type { FuzzCtx, Generated } from "./fuzz-common.js";
import { oddPath, rawHttp, wrongMethod } from "./fuzz-http.js";
import {
  checkoutBodyKind,
  checkoutJson,
  checkoutQuery,
  items,
  purchaseCodes,
  purchases,
  sales,
  tickets,
} from "./fuzz-shoppers.js";
import type { Rng } from "./prng.js";

// Generators of bad requests, one per endpoint or kind of abuse. Each makes a
// request that must be refused with a 4xx: an id is never valid AND existing, a
// body always has at least one bad field, an admin call is unauthenticated or bad.

export type { FuzzCtx, FuzzRequest, Generated, RawRequest } from "./fuzz-common.js";

type Gen = (r: Rng, ctx: FuzzCtx) => Generated;

/** Every generator with its weight: most requests go where input is parsed. */
export const GENERATORS: [Gen, number][] = [
  [checkoutQuery, 14],
  [checkoutJson, 14],
  [checkoutBodyKind, 6],
  [tickets, 8],
  [sales, 8],
  [items, 6],
  [purchases, 6],
  [purchaseCodes, 6],
  [adminNoAuth, 6],
  [adminBad, 14],
  [wrongMethod, 6],
  [oddPath, 8],
  [rawHttp, 4],
];

export function generate(r: Rng, ctx: FuzzCtx): Generated {
  const total = GENERATORS.reduce((n, [, w]) => n + w, 0);
  let pick = r.next() * total;
  for (const [gen, w] of GENERATORS) {
    pick -= w;
    if (pick < 0) return gen(r, ctx);
  }
  return checkoutQuery(r);
}
