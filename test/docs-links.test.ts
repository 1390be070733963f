import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { CONFIG_VARIABLES, parseConfig } from "../shared/config.js";

// The documentation is read by people with only the repository in hand: every link and
// image must lead somewhere they can follow, and the configuration page must name every
// variable the config knows, with the default it really has.

const root = fileURLToPath(new URL("..", import.meta.url));
const DOCS = [
  "README.md",
  "bench/README.md",
  ...readdirSync(join(root, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`),
];

/** The text outside fenced code blocks and inline code, where links are links. */
function prose(markdown: string): string {
  return markdown.replace(/^(`{3,}|~{3,})[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "").replace(/`[^`\n]*`/g, "");
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/`/g, "")
    .replace(/[^\p{L}\p{N} _-]/gu, "")
    .replace(/ /g, "-");
}

function anchors(file: string): Set<string> {
  const text = prose(readFileSync(join(root, file), "utf8"));
  return new Set([...text.matchAll(/^#{1,6}\s+(.+?)\s*#*$/gm)].map((m) => slug(m[1] as string)));
}

/** Inline links and images `[text](target)`, autolinks `<https://…>`, and reference definitions. */
function links(file: string): string[] {
  const text = prose(readFileSync(join(root, file), "utf8"));
  return [
    ...[...text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1] as string),
    ...[...text.matchAll(/<(https?:\/\/[^>\s]+)>/g)].map((m) => m[1] as string),
    ...[...text.matchAll(/^\s*\[[^\]]+\]:\s*(\S+)/gm)].map((m) => m[1] as string),
  ];
}

const PRIVATE_HOST =
  /^(localhost|127\.\d+\.\d+\.\d+|0\.0\.0\.0|\[?::1\]?|10\.\d+\.\d+\.\d+|192\.168\.\d+\.\d+)$/;

describe.each(DOCS)("%s", (file) => {
  it("links only to files in the repository, headings that exist, or public http(s) pages", () => {
    const found = links(file);
    const bad: string[] = [];
    for (const target of found) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) {
        const url = new URL(target);
        if (!/^https?:$/.test(url.protocol) || PRIVATE_HOST.test(url.hostname)) bad.push(target);
        continue;
      }
      const [path = "", anchor] = target.split("#");
      const resolved = path ? join(dirname(join(root, file)), decodeURI(path)) : join(root, file);
      const inside = !relative(root, resolved).startsWith("..");
      if (!inside || !existsSync(resolved)) {
        bad.push(target);
        continue;
      }
      if (anchor && statSync(resolved).isFile() && resolved.endsWith(".md")) {
        if (!anchors(relative(root, resolved)).has(anchor)) bad.push(target);
      }
    }
    expect(bad).toEqual([]);
  });
});

describe("README.md", () => {
  it("opens with a link inside the repository", () => {
    const [first] = links("README.md");
    expect(first).toBeDefined();
    expect(first).not.toMatch(/^[a-z]+:|^\.\./i);
  });

  it("is a front door: about a screen or two", () => {
    expect(readFileSync(join(root, "README.md"), "utf8").split("\n").length).toBeLessThan(150);
  });
});

describe("docs/configuration.md", () => {
  const text = readFileSync(join(root, "docs/configuration.md"), "utf8");
  // Each table row: the variable cell (one or two names, "A / B") and the default cell.
  const rows = new Map<string, string>();
  for (const m of text.matchAll(/^\|([^|]+)\|([^|]+)\|/gm)) {
    const names = [...(m[1] as string).matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((n) => n[1] as string);
    const defaults = (m[2] as string).split(" / ");
    names.forEach((name, i) => {
      rows.set(name, (names.length > 1 ? defaults[i] : m[2]) ?? "");
    });
  }
  const defaults = parseConfig({}) as Record<string, unknown>;

  it.each([...CONFIG_VARIABLES])("names %s with its default", (name) => {
    const cell = rows.get(name);
    expect(cell, `${name} is not in the table`).toBeDefined();
    const value = name === "ADMIN_PASSWORD" ? "admin" : defaults[name];
    if (value === undefined) expect(cell).toMatch(/unset/);
    else if (value === "") expect(cell).toMatch(/empty/);
    else expect(cell).toContain(`\`${String(value)}\``);
  });

  it("names no variable the config does not know", () => {
    for (const name of rows.keys()) expect(CONFIG_VARIABLES).toContain(name);
  });
});
