import { describe, expect, it } from 'vitest';
import {
  adjustInFlightLimit,
  BUSY_LOOP_UTILIZATION,
  BUSY_SHRINK_EVERY_MS,
  createInFlightLimit,
  GROW_EVERY_MS,
  INITIAL_IN_FLIGHT_LIMIT,
  SHRINK_AFTER_MS,
} from '../../src/engine/in-flight-limit.ts';

describe('in-flight limit', () => {
  it('starts small, capped by maxInFlight', () => {
    expect(createInFlightLimit(1000, 0).limit).toBe(INITIAL_IN_FLIGHT_LIMIT);
    expect(createInFlightLimit(4, 0).limit).toBe(4);
  });

  it('doubles at most every GROW_EVERY_MS while requests wait and the loop is not busy, up to the max', () => {
    const s = createInFlightLimit(500, 0);
    let t = 0;
    const starved = () => adjustInFlightLimit(s, { nowMs: t, inFlight: s.limit, backlog: 10, loopUtilization: 0.2 });
    expect(starved()).toBe(128);
    t += GROW_EVERY_MS / 2;
    expect(starved()).toBe(128);
    t += GROW_EVERY_MS / 2;
    expect(starved()).toBe(256);
    t += GROW_EVERY_MS;
    expect(starved()).toBe(500);
    t += GROW_EVERY_MS;
    expect(starved()).toBe(500);
  });

  it('does not grow when the generator itself is the bottleneck, or nothing waits', () => {
    const s = createInFlightLimit(500, 0);
    expect(adjustInFlightLimit(s, { nowMs: 1000, inFlight: 64, backlog: 10, loopUtilization: BUSY_LOOP_UTILIZATION + 0.1 })).toBe(64);
    expect(adjustInFlightLimit(s, { nowMs: 2000, inFlight: 64, backlog: 0, loopUtilization: 0 })).toBe(64);
    expect(adjustInFlightLimit(s, { nowMs: 3000, inFlight: 10, backlog: 5, loopUtilization: 0 })).toBe(64);
  });

  it('halves, at most every BUSY_SHRINK_EVERY_MS, while requests wait and the generator is saturated', () => {
    const s = createInFlightLimit(1000, 0);
    for (let t = 0; t < 500; t += GROW_EVERY_MS) adjustInFlightLimit(s, { nowMs: t, inFlight: s.limit, backlog: 1, loopUtilization: 0 });
    expect(s.limit).toBe(1000);
    const limits: number[] = [];
    for (let t = 500; t < 500 + 5 * BUSY_SHRINK_EVERY_MS; t += GROW_EVERY_MS) {
      limits.push(adjustInFlightLimit(s, { nowMs: t, inFlight: s.limit, backlog: 100, loopUtilization: 0.95 }));
    }
    expect([...new Set(limits)]).toEqual([1000, 500, 250, 125, 64]);
    expect(limits.filter((l) => l === 500).length).toBe(BUSY_SHRINK_EVERY_MS / GROW_EVERY_MS);
  });

  it('halves back towards the start when mostly unused for SHRINK_AFTER_MS', () => {
    const s = createInFlightLimit(1000, 0);
    for (let t = 0; t < 500; t += GROW_EVERY_MS) adjustInFlightLimit(s, { nowMs: t, inFlight: s.limit, backlog: 1, loopUtilization: 0 });
    expect(s.limit).toBe(1000);
    let t = 500;
    const idle = (inFlight: number) => adjustInFlightLimit(s, { nowMs: (t += GROW_EVERY_MS), inFlight, backlog: 0, loopUtilization: 0.1 });
    // used above a quarter: kept
    for (let i = 0; i < (2 * SHRINK_AFTER_MS) / GROW_EVERY_MS; i++) idle(300);
    expect(s.limit).toBe(1000);
    // mostly unused: halves once per period, never below the start
    const limits = new Set<number>();
    for (let i = 0; i < (20 * SHRINK_AFTER_MS) / GROW_EVERY_MS; i++) limits.add(idle(3));
    expect([...limits]).toEqual([1000, 500, 250, 125, 64]);
  });
});
