import type { Deps } from "../deps.js";
import { AppError } from "../errors.js";
import type { SaleDirectory } from "./directory.js";
import { latestSaleWithItem } from "./view.js";

/**
 * The sale an item id refers to now: the one open sale that has it, else the newest that
 * had it. Several open sales with the item are refused (sale_ambiguous), as at checkout.
 */
export async function saleOfItem(deps: Deps, directory: SaleDirectory, itemId: string): Promise<string> {
  const open = await directory.withItem(await directory.open(), itemId);
  if (open.length > 1) throw ambiguous(itemId, open);
  if (open[0]) return open[0].saleId;
  const saleId = (await directory.anyWithItem(itemId))?.saleId ?? (await latestSaleWithItem(deps, itemId));
  if (!saleId) throw new AppError("item_not_found", `no item ${itemId} in any sale`);
  return saleId;
}

/** The refusal of an item id open in several sales, naming them (newest first). */
export function ambiguous(itemId: string, sales: { saleId: string }[]): AppError {
  const ids = sales.map((s) => s.saleId).join(", ");
  return new AppError(
    "sale_ambiguous",
    `item ${itemId} is on sale in several sales (${ids}): choose one with sale_id`,
  );
}
