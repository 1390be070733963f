import { getQueryParam } from "hono/utils/url";
import { describe, expect, it } from "vitest";
import { queryOf } from "../api/input.js";

// The hot routes read their query in one pass (api/input.ts); each value must be
// exactly what Hono's c.req.query(name) gives, encoded names, repeats and broken
// escapes included.

const PARTS = ["user_id", "id", "item_id", "wait", "us%65r_id", "i%64", "x", "", "=", "a+b", "%E0%A4%A"];
PARTS.push("%2B", "+", "&", "%26", "%3D", "1", "u1", "seen", "#", "%zz", "%00", "w%61it");
const NAMES = ["user_id", "id", "item_id", "wait"] as const;

describe("query parsing", () => {
  it("gives what c.req.query(name) gives, for 50,000 generated query strings", () => {
    // A fixed sequence (xorshift), so a failure is reproducible.
    let s = 0x2545f491;
    const next = (k: number) => {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      return (s >>> 0) % k;
    };
    const wrong: string[] = [];
    for (let t = 0; t < 50_000; t++) {
      let q = "";
      for (let i = next(8); i > 0; i--) q += PARTS[next(PARTS.length)];
      const url = `http://127.0.0.1:3000/checkout?${q}`;
      const got = queryOf(url, NAMES);
      for (const name of NAMES) {
        const want = getQueryParam(url, name) as string | undefined;
        if (got[name] !== want) wrong.push(`${url} ${name}: ${want} vs ${got[name]}`);
      }
    }
    expect(wrong.slice(0, 5)).toEqual([]);
  });

  it("a URL without a query has no values", () => {
    expect(queryOf("http://h/checkout", NAMES)).toEqual({});
  });
});
