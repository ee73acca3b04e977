// A rollback step's retries pause retryDelay × attempt, but never longer than 5 s each: with the
// bounds (attempts ≤ 10, retryDelay ≤ 5s) a failing step gives up within 45 s of pauses.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runWithRetries } from '../../src/engine/rollback.ts';

describe('rollback back-off', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('grows with each attempt up to 5 s a pause', async () => {
    const startedAtMs: number[] = [];
    const step = { name: 'flaky', critical: true, run: async () => Promise.reject(new Error('still down')) };
    const done = runWithRetries(step, { attempts: 5, retryDelayMs: 2_000 }, (e) => {
      if (e.result === 'started') startedAtMs.push(Date.now());
    });
    await vi.runAllTimersAsync();
    const outcome = await done;
    expect(outcome).toMatchObject({ ok: false, attempts: 5, error: 'still down' });
    const pausesMs = startedAtMs.slice(1).map((t, i) => t - startedAtMs[i]);
    expect(pausesMs).toEqual([2_000, 4_000, 5_000, 5_000]); // uncapped: 2, 4, 6, 8 s
  });

  it('the longest possible rollback step pauses 45 s in all (10 attempts, retryDelay 5s)', async () => {
    const step = { name: 'down', critical: false, run: async () => Promise.reject(new Error('no')) };
    const t0 = Date.now();
    const done = runWithRetries(step, { attempts: 10, retryDelayMs: 5_000 }, () => {});
    await vi.runAllTimersAsync();
    await done;
    expect(Date.now() - t0).toBe(45_000); // uncapped: 5 s × (1 + … + 9) = 225 s
  });
});
