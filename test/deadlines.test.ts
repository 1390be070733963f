import { describe, expect, it } from "vitest";
import { clock, createDeadlines } from "../shared/ticket/deadlines.js";
import { sleep } from "../shared/time.js";

// The one timer that ends every wait of a process (shared/ticket/deadlines.ts).

describe("deadlines", () => {
  it("2,000 deadlines each fire once, never before their time and within a few ticks after it", async () => {
    const TICK = 20;
    const d = createDeadlines(TICK);
    const start = clock();
    const late: number[] = [];
    let early = 0;
    let fired = 0;
    for (let i = 0; i < 2000; i++) {
      const at = start + 50 + (i % 400);
      d.add(at, () => {
        fired++;
        const now = clock();
        if (now < at) early++;
        late.push(now - at);
      });
    }
    expect(d.size()).toBe(2000);
    while (fired < 2000 && clock() - start < 10_000) await sleep(20);
    expect(fired).toBe(2000);
    expect(early).toBe(0);
    // A tick and the timer's own jitter; generous for a loaded machine, far below a second.
    expect(Math.max(...late)).toBeLessThan(500);
    expect(d.size()).toBe(0);
    await sleep(3 * TICK);
    expect(fired).toBe(2000);
  });

  it("a removed deadline never fires, and the others in its slot still do", async () => {
    const d = createDeadlines(10);
    const at = clock() + 30;
    const calls: string[] = [];
    const a = () => calls.push("a");
    const b = () => calls.push("b");
    const slot = d.add(at, a);
    d.add(at, b);
    d.remove(slot, a);
    expect(d.size()).toBe(1);
    await sleep(120);
    expect(calls).toEqual(["b"]);
  });

  it("a deadline already past fires at the next tick", async () => {
    const d = createDeadlines(10);
    let fired = false;
    d.add(clock() - 1000, () => {
      fired = true;
    });
    expect(fired).toBe(false);
    await sleep(60);
    expect(fired).toBe(true);
  });
});
