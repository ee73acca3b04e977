import { describe, expect, it } from 'vitest';
import { createSchedule, dueCount, dueTotal, scheduledAtMs, sendTimeMs } from '../../src/engine/scheduler.ts';

describe('open-loop schedule', () => {
  it('spaces requests 1000/rps ms apart from the start', () => {
    expect(sendTimeMs(1000, 200, 0)).toBe(1000);
    expect(sendTimeMs(1000, 200, 1)).toBe(1005);
    expect(sendTimeMs(1000, 200, 200)).toBe(2000);
    expect(sendTimeMs(0, 0, 3)).toBe(Infinity);
  });

  it('counts the requests due: the first at the start, one more per interval', () => {
    expect(dueCount(1000, 200, 999.9)).toBe(0);
    expect(dueCount(1000, 200, 1000)).toBe(1);
    expect(dueCount(1000, 200, 1004.9)).toBe(1);
    expect(dueCount(1000, 200, 1005)).toBe(2);
    expect(dueCount(1000, 200, 2000)).toBe(201);
    expect(dueCount(1000, 0, 5000)).toBe(0);
    expect(dueCount(0, 0.5, 4000)).toBe(3);
  });

  it('agrees with sendTimeMs: exactly the requests with send time ≤ now are due', () => {
    let seed = 7;
    const rand = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let k = 0; k < 2000; k++) {
      const startMs = 1.7e12 + rand() * 1e6;
      const rps = 1 + rand() * 5000;
      const nowMs = startMs + rand() * 60_000;
      const n = dueCount(startMs, rps, nowMs);
      // float rounding may put a boundary request a hair either side
      expect(sendTimeMs(startMs, rps, n - 1)).toBeLessThanOrEqual(nowMs + 1e-6);
      expect(sendTimeMs(startMs, rps, n)).toBeGreaterThan(nowMs - 1e-6);
    }
  });

  it('a schedule: request i at its send time, and the count due never goes down', () => {
    const s = createSchedule(1000, 10); // one every 100 ms
    expect(scheduledAtMs(s, 12)).toBe(2200);
    let last = 0;
    for (let t = 900; t <= 5000; t += 37) {
      const due = dueTotal(s, t);
      expect(due).toBeGreaterThanOrEqual(last);
      last = due;
    }
    expect(dueTotal(s, 2200)).toBe(13);
  });
});
