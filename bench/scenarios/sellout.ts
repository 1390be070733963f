import { createSale } from "../../loadtest/api.js";
import { runLoad } from "../../loadtest/run.js";
import { type Scenario, violationsOf } from "../target.js";

// 10,000 items of stock 1 and 1,000 shoppers at once, each buying up to the
// limit of 10 and moving on to another item after a refusal; payments answer at
// once and always succeed. How long until every unit is purchased, and how much
// CPU does each purchase cost the system? Shoppers check out with `?wait=`, so a
// purchase is one request unless the wait runs out.

const ITEMS = 10_000;
const CLIENTS = 1000;
const USER_LIMIT = 10;

export const sellout: Scenario = {
  name: "sellout",
  withBaseline: true,
  async run(t, o) {
    const sale = await createSale(t.http, {
      items: ITEMS,
      stockPerItem: 1,
      userLimit: USER_LIMIT,
      durationS: 3600,
    });
    const report = await runLoad({
      url: t.url,
      admin: t.admin,
      saleId: sale.sale_id,
      payments: {
        failure_rate: 0,
        hang_rate: 0,
        latency_ms: { min: 0, max: 0 },
        timeout_ms: 3000,
        slots: 200,
      },
      users: CLIENTS,
      arrival: { kind: "concurrency", concurrency: CLIENTS },
      choice: "uniform",
      // Retries are bounded only by the sale: a shopper keeps going until it has 10 or nothing is left.
      plan: {
        buyUpTo: USER_LIMIT,
        retries: 1_000_000,
        pollWaitMs: 5000,
        waitAtCheckout: !o.checkoutThenPoll,
      },
      durationS: 120,
      drainS: 30,
      checkUsers: 200,
    });
    const soldOutS = report.sold.sold_out_s;
    const violations = violationsOf(report);
    if (report.sold.units !== ITEMS) violations.push(`sold ${report.sold.units} of ${ITEMS}`);
    return {
      figures: {
        sold_out_s: soldOutS,
        purchases_per_s: soldOutS ? Math.round(ITEMS / soldOutS) : null,
        sold: report.sold.units,
        checkouts: report.requests.checkouts,
        requests_per_purchase: report.requests.per_purchase,
        // With ?wait=, until the answer: for most checkouts the final ticket.
        checkout_p99_ms: report.latency_ms.checkout.p99,
        to_final_p99_ms: report.latency_ms.ticket_to_final.p99,
      },
      violations,
      reports: [report],
      cpuPer: { unit: "purchase", count: report.sold.units },
    };
  },
};
