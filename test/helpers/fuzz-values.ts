import type { Rng } from "./prng.js";

// Values that are wrong for a field, by kind. Everything here must be refused
// wherever it is used: nothing in these lists is a valid id, count or rate.

/** Strings outside [A-Za-z0-9_-]{1,64}: unicode, injections, paths, control characters. */
export const BAD_STRINGS = [
  "",
  " ",
  "a b",
  "café",
  "😀",
  "名前",
  "\u202eevil",
  "\u0000",
  "a\u0000b",
  "\t",
  "line\nbreak",
  "x".repeat(65),
  "y".repeat(1000),
  "'; drop table sales;--",
  "' OR '1'='1",
  "1; select pg_sleep(10)",
  "1) union select * from purchases--",
  "$$; delete from items; $$",
  "redis.call('FLUSHALL')",
  "]]; redis.call('flushall') --[[",
  '"); redis.call("del", KEYS[1]) --',
  "*",
  "{s1}",
  "../../etc/passwd",
  "..",
  "%00",
  "%2e%2e",
  "\\",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the injection string itself, not a template.
  "${jndi:ldap://x/a}",
  "<script>alert(1)</script>",
  "{{7*7}}",
  "a.b",
  "a:b",
  "a/b",
  "1e5 ",
  "\ufeffA1",
];

/** Numbers no field accepts as an id: negative, fractional, unsafe. */
export const BAD_ID_NUMBERS = [-1, -0.5, 1.5, 1e21, -1e308, 1e308, 2 ** 53 + 2, Number.MIN_VALUE];

/** JSON values of the wrong type for a string or a number field. */
export const WRONG_TYPES: unknown[] = [null, true, false, [], ["A1"], {}, { id: "A1" }, [[[]]]];

/** Query values that no integer parameter accepts (zod coerces " 5" and "0x10", so those are not here). */
export const BAD_INT_PARAMS = [
  "",
  "-1",
  "1.5",
  "abc",
  "1e9",
  "99999999999999999999",
  "-99999999999999999999",
  "NaN",
  "Infinity",
  "-Infinity",
  "1,000",
  "٣",
  "'; drop table items;--",
];

/** Malformed JSON texts. */
export const MALFORMED_JSON = [
  "{",
  "}",
  '{"user_id": "u1",',
  "{user_id: u1}",
  "'u1'",
  '{"a":1} trailing',
  "[1,]",
  '{"a":1,,"b":2}',
  '{"a": NaN}',
  '{"a": undefined}',
  "\u0000",
  '{"a":"\\u00"}',
  '{"a": 01}',
  "[".repeat(5000),
  '{"__proto__": ',
  "nul",
];

/** A random string of any code points (including lone surrogates and control characters). */
export function randomUnicode(r: Rng, max = 40): string {
  let s = "";
  const n = 1 + r.int(max);
  for (let i = 0; i < n; i++) {
    const range = r.pick([0x7f, 0x7ff, 0xffff, 0x10ffff]);
    s += String.fromCodePoint(r.int(range + 1) & (range > 0xffff ? 0x10ffff : 0xffff));
  }
  return s;
}

/** A string that is certainly not a valid id. */
export function badString(r: Rng): string {
  if (r.chance(0.2)) {
    // Random unicode always has a character outside the id alphabet, or add one.
    return `${randomUnicode(r)}!`;
  }
  return r.pick(BAD_STRINGS);
}

/** Any JSON value that is not a valid id. */
export function badIdValue(r: Rng): unknown {
  const k = r.int(3);
  if (k === 0) return badString(r);
  if (k === 1) return r.pick(BAD_ID_NUMBERS);
  return r.pick(WRONG_TYPES);
}

/** A well-formed id that names nothing in the suite's sale. */
export const unknownId = (r: Rng) => `zz${r.int(1e9)}`;
