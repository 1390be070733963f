import { readFileSync } from "node:fs";
import type { Cluster, Redis } from "ioredis";

// The one layer over the Lua scripts. Each script is declared once, beside the operation
// that calls it, with its keys and arguments named in order and its answer decoded into
// an object. A script is defined on each connection once (defineCommand: EVALSHA,
// falling back to EVAL after a Redis restart), so a call is one EVALSHA as before.

export type ScriptArg = string | number;
/** What a script answers: Lua tables come back as arrays, nested for per-ticket answers. */
export type ScriptResult = string | number | null | ScriptResult[];
type Conn = Redis | Cluster;

/** Lua helpers in shared/scripts/lib/, prepended at load to the scripts that name them. */
const HELPERS = {
  now_ms: "now.lua",
  left_line: "left-line.lua",
  hand_on: "hand-on.lua",
} as const;
export type LuaHelper = keyof typeof HELPERS;

const helperSource = (h: LuaHelper) => readFileSync(new URL(`./lib/${HELPERS[h]}`, import.meta.url), "utf8");

/** A script's source with the helpers it uses in front (each a local function). */
function loadLua(file: URL, helpers: readonly LuaHelper[] = []): string {
  return [...helpers.map(helperSource), readFileSync(file, "utf8")].join("\n");
}

interface Registered {
  /** Undefined for a script whose key count varies: the count is sent as its first argument. */
  numberOfKeys: number | undefined;
  lua: string;
}

const registry = new Map<string, Registered>();
const definedOn = new WeakMap<Conn, Set<string>>();

/** Adds a script to those every connection defines; a name is declared once in the tree. */
function registerScript(name: string, numberOfKeys: number | undefined, lua: string): void {
  if (registry.has(name)) throw new Error(`script ${name} is declared twice`);
  registry.set(name, { numberOfKeys, lua });
}

function defineOn(redis: Conn, name: string, s: Registered): void {
  let names = definedOn.get(redis);
  if (!names) {
    names = new Set();
    definedOn.set(redis, names);
  }
  if (names.has(name)) return;
  if (s.numberOfKeys === undefined) redis.defineCommand(name, { lua: s.lua });
  else redis.defineCommand(name, { numberOfKeys: s.numberOfKeys, lua: s.lua });
  names.add(name);
}

/** Defines every script declared so far on a new connection (one declared later is defined at its first call). */
export function defineScripts(redis: Conn): void {
  for (const [name, s] of registry) defineOn(redis, name, s);
}

/** Runs a declared script by name: one EVALSHA. */
function callScript(redis: Conn, name: string, keys: string[], args: ScriptArg[]): Promise<ScriptResult> {
  const s = registry.get(name);
  if (!s) throw new Error(`no script ${name}`);
  defineOn(redis, name, s);
  // biome-ignore lint/suspicious/noExplicitAny: commands added by defineCommand are untyped on Redis.
  const fn = (redis as any)[name] as (...a: ScriptArg[]) => Promise<ScriptResult>;
  if (s.numberOfKeys === undefined) return fn.call(redis, keys.length, ...keys, ...args);
  if (keys.length !== s.numberOfKeys)
    throw new Error(`script ${name} takes ${s.numberOfKeys} keys, got ${keys.length}`);
  return fn.call(redis, ...keys, ...args);
}

interface Spec<K extends string, A extends string, R> {
  /** The command's name on each connection. */
  name: string;
  /** The script's file, beside its caller: `new URL("./admit.lua", import.meta.url)`. */
  lua: URL;
  helpers?: readonly LuaHelper[];
  /** KEYS[1..n] by name, in order. */
  keys: readonly K[];
  /** ARGV[1..n] by name, in order. */
  args: readonly A[];
  decode: (raw: ScriptResult) => R;
}

export interface Script<K extends string, A extends string, R> {
  readonly name: string;
  run(redis: Conn, keys: Record<K, string>, args: Record<A, ScriptArg>): Promise<R>;
}

/** A script with a fixed set of keys and arguments. */
export function defineScript<K extends string, A extends string, R>(spec: Spec<K, A, R>): Script<K, A, R> {
  registerScript(spec.name, spec.keys.length, loadLua(spec.lua, spec.helpers));
  return {
    name: spec.name,
    run: async (redis, keys, args) =>
      spec.decode(
        await callScript(
          redis,
          spec.name,
          spec.keys.map((k) => keys[k]),
          spec.args.map((a) => args[a]),
        ),
      ),
  };
}

interface BatchSpec<K extends string, A extends string, EK extends string, EA extends string, R>
  extends Spec<K, A, R> {
  /** The keys and arguments repeated for each entry (a ticket, an item), after the fixed ones. */
  each: { keys: readonly EK[]; args: readonly EA[] };
}

export interface BatchScript<K extends string, A extends string, EK extends string, EA extends string, R> {
  readonly name: string;
  /** One call for all `entries`, in their order. */
  run(
    redis: Conn,
    keys: Record<K, string>,
    args: Record<A, ScriptArg>,
    entries: { keys: Record<EK, string>; args: Record<EA, ScriptArg> }[],
  ): Promise<R>;
}

/** A script that takes a batch: fixed keys and arguments, then a group of each per entry. */
export function defineBatchScript<
  K extends string,
  A extends string,
  EK extends string,
  EA extends string,
  R,
>(spec: BatchSpec<K, A, EK, EA, R>): BatchScript<K, A, EK, EA, R> {
  // Keys repeated per entry make the count vary (sent as the first argument); otherwise it is fixed.
  const numberOfKeys = spec.each.keys.length > 0 ? undefined : spec.keys.length;
  registerScript(spec.name, numberOfKeys, loadLua(spec.lua, spec.helpers));
  return {
    name: spec.name,
    run: async (redis, keys, args, entries) => {
      const k = spec.keys.map((n) => keys[n]);
      const a = spec.args.map((n) => args[n]);
      for (const e of entries) {
        for (const n of spec.each.keys) k.push(e.keys[n]);
        for (const n of spec.each.args) a.push(e.args[n]);
      }
      return spec.decode(await callScript(redis, spec.name, k, a));
    },
  };
}

/** Reads an answer's string at `i` ('' for nothing). */
export const str = (raw: ScriptResult, i: number): string => {
  const v = Array.isArray(raw) ? raw[i] : undefined;
  return v === null || v === undefined || Array.isArray(v) ? "" : String(v);
};
