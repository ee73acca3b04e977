import { describe, expect, it } from 'vitest';
import { changeRate, createSchedule, dueCount, dueTotal, scheduledAtMs, sendTimeMs } from '../../src/engine/scheduler.ts';

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
    const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
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

  it('a rate change keeps the requests already due and does not burst when speeding up', () => {
    const s = createSchedule(0, 10); // one every 100 ms
    const faster = changeRate(s, 950, 1000); // 10 due (0..900); the next would be at 901 but that is past
    expect(faster.firstIndex).toBe(10);
    expect(faster.startMs).toBe(950);
    expect(dueTotal(faster, 950)).toBe(11); // one now, not 50 to catch up
    expect(dueTotal(faster, 960)).toBe(21);
    expect(scheduledAtMs(faster, 12)).toBe(952);
  });

  it('slowing down spaces the next request by the new interval after the last one', () => {
    const s = createSchedule(0, 100); // every 10 ms
    const slower = changeRate(s, 25, 1); // 0, 10, 20 due
    expect(slower.firstIndex).toBe(3);
    expect(slower.startMs).toBe(1020);
    expect(dueTotal(slower, 1019)).toBe(3);
    expect(dueTotal(slower, 1020)).toBe(4);
  });

  it('pausing (rps 0) and resuming starts again from now', () => {
    const s = createSchedule(0, 100);
    const paused = changeRate(s, 55, 0);
    expect(dueTotal(paused, 10_000)).toBe(6);
    const resumed = changeRate(paused, 10_000, 100);
    expect(resumed.startMs).toBe(10_000);
    expect(dueTotal(resumed, 10_000)).toBe(7);
    expect(dueTotal(resumed, 10_100)).toBe(17);
  });

  it('a change before the first request keeps the start time', () => {
    const s = createSchedule(500, 10);
    const c = changeRate(s, 100, 20);
    expect(c).toEqual({ startMs: 500, firstIndex: 0, rps: 20 });
  });

  it('the due count never goes down across rate changes', () => {
    let s = createSchedule(0, 50);
    let last = 0;
    for (let t = 0; t <= 10_000; t += 37) {
      if (t % 1110 === 0) s = changeRate(s, t, [5, 500, 0, 50, 1234][(t / 1110) % 5]);
      const due = dueTotal(s, t);
      expect(due).toBeGreaterThanOrEqual(last);
      last = due;
    }
  });
});
