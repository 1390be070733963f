import type { Deps } from "../deps.js";

export type CheckoutMode = "direct" | "two_step";

/**
 * Puts how a sale sells where the hot-path scripts read it (the sale's mode hash,
 * shared/keys.ts saleMode). Written before the sale is published, so no checkout
 * ever sees a two_step sale as direct; a direct sale writes nothing, so its
 * scripts read what they always did. Writing it again changes nothing.
 */
export async function writeSaleMode(
  deps: Pick<Deps, "redis" | "keys">,
  saleId: string,
  sale: { checkoutMode: string; holdS: number },
): Promise<void> {
  if (sale.checkoutMode !== "two_step") return;
  await deps.redis.hset(deps.keys.saleMode(saleId), "cm", "two_step", "hold", sale.holdS * 1000);
}
