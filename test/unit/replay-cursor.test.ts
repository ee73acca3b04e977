// Where a replay stands in a journal: events up to a time, the state then (the same as reducing them
// live), the wait for the next event at a speed, the speed steps; and the player that drives them
// with timers, on a clock of its own.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { GamedayEvent } from '../../src/engine/events.ts';
import { reduce } from '../../src/state/reducer.ts';
import {
  CHECKPOINT_EVERY,
  SPEED_STEPS,
  advance,
  countUpTo,
  delayToNextMs,
  fasterSpeed,
  replayTimes,
  seekTarget,
  slowerSpeed,
  stateAt,
} from '../../src/state/replay-cursor.ts';
import { ReplayPlayer } from '../../src/state/replay-player.ts';
import { createGamedayStore, initialState } from '../../src/state/store.ts';

const T0 = 1_800_000_000_000;
const phase = (offsetMs: number, p: 'preflight' | 'baseline' | 'inject' | 'observe' | 'done'): GamedayEvent => ({
  type: 'phase',
  ts: T0 + offsetMs,
  phase: p,
});
const note = (offsetMs: number, text: string): GamedayEvent => ({ type: 'note', ts: T0 + offsetMs, text, source: 'engine' });

/** preflight at 0, baseline at 1 s, notes each second, inject at 10 s, done at 20 s */
const EVENTS: GamedayEvent[] = [
  phase(0, 'preflight'),
  phase(1_000, 'baseline'),
  ...Array.from({ length: 8 }, (_, i) => note(2_000 + i * 1_000, `n${i}`)),
  phase(10_000, 'inject'),
  phase(20_000, 'done'),
];

describe('the replay cursor', () => {
  it('times never go back (a wall clock set back mid-run)', () => {
    expect(replayTimes([note(5, 'a'), note(3, 'b'), note(7, 'c')])).toEqual([T0 + 5, T0 + 5, T0 + 7]);
  });

  it('counts the events that have happened by a time, an event at that very time included', () => {
    const times = replayTimes(EVENTS);
    expect(countUpTo(times, T0 - 1)).toBe(0);
    expect(countUpTo(times, T0)).toBe(1);
    expect(countUpTo(times, T0 + 999)).toBe(1);
    expect(countUpTo(times, T0 + 1_000)).toBe(2);
    expect(countUpTo(times, T0 + 10_000)).toBe(11);
    expect(countUpTo(times, T0 + 99_000)).toBe(EVENTS.length);
    // equal times: all of them
    expect(countUpTo([1, 2, 2, 2, 3], 2)).toBe(4);
  });

  it('the state at a count is the events up to it reduced from the start', () => {
    for (const n of [0, 1, 5, 11, EVENTS.length]) expect(stateAt(EVENTS, n)).toEqual(EVENTS.slice(0, n).reduce(reduce, initialState()));
    expect(stateAt(EVENTS, 11).phase).toBe('inject');
    expect(stateAt(EVENTS, 10).phase).toBe('baseline');
    expect(stateAt(EVENTS, 0)).toEqual(initialState());
  });

  it('seeks through checkpoints to the same state as from the start', () => {
    const many: GamedayEvent[] = Array.from({ length: CHECKPOINT_EVERY * 3 + 17 }, (_, i) => note(i * 10, `n${i}`));
    const checkpoints = new Map();
    const end = stateAt(many, many.length, checkpoints);
    expect([...checkpoints.keys()]).toEqual([CHECKPOINT_EVERY, CHECKPOINT_EVERY * 2, CHECKPOINT_EVERY * 3]);
    const n = CHECKPOINT_EVERY * 2 + 5;
    expect(stateAt(many, n, checkpoints)).toEqual(stateAt(many, n));
    expect(end).toEqual(many.reduce(reduce, initialState()));
  });

  it('waits for the next event at the speed', () => {
    const times = replayTimes(EVENTS);
    // next is the inject at 10 s; at 6 s it is 4 s away: 1 s of wall time at 4×
    expect(delayToNextMs(times, 10, T0 + 6_000, 4)).toBe(1_000);
    expect(delayToNextMs(times, 10, T0 + 6_000, 0.5)).toBe(8_000);
    // overdue: at once
    expect(delayToNextMs(times, 10, T0 + 12_000, 1)).toBe(0);
    expect(delayToNextMs(times, EVENTS.length, T0, 1)).toBeNull();
  });

  it('advances journal time by wall time × speed, no further than the end', () => {
    expect(advance(T0, 500, 4, T0 + 20_000)).toBe(T0 + 2_000);
    expect(advance(T0, 60_000, 4, T0 + 20_000)).toBe(T0 + 20_000);
    expect(advance(T0, -5, 4, T0 + 20_000)).toBe(T0);
  });

  it('seeks within the journal', () => {
    expect(seekTarget(T0 + 3_000, -5_000, T0, T0 + 20_000)).toBe(T0);
    expect(seekTarget(T0 + 3_000, 5_000, T0, T0 + 20_000)).toBe(T0 + 8_000);
    expect(seekTarget(T0 + 18_000, 5_000, T0, T0 + 20_000)).toBe(T0 + 20_000);
  });

  it('steps the speed by doubling from 0.25× to 64×; a --speed between steps goes to the next one', () => {
    expect(SPEED_STEPS).toEqual([0.25, 0.5, 1, 2, 4, 8, 16, 32, 64]);
    expect(fasterSpeed(1)).toBe(2);
    expect(fasterSpeed(3)).toBe(4);
    expect(fasterSpeed(64)).toBe(64);
    expect(fasterSpeed(500)).toBe(500);
    expect(slowerSpeed(1)).toBe(0.5);
    expect(slowerSpeed(3)).toBe(2);
    expect(slowerSpeed(500)).toBe(64);
    expect(slowerSpeed(0.25)).toBe(0.25);
    expect(slowerSpeed(0.1)).toBe(0.1);
  });
});

describe('the replay player', () => {
  // fake timers fake Date.now too: the player's clock moves with the timers as they fire
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());
  const elapse = (ms: number) => vi.advanceTimersByTimeAsync(ms);

  function player(speed: number) {
    const store = createGamedayStore();
    const seen: GamedayEvent[] = [];
    const p = new ReplayPlayer(EVENTS, { speed, store, onEvent: (e) => seen.push(e) });
    return { p, store, seen };
  }

  it('plays the events at their pace times the speed, into the store as the reducer makes it', async () => {
    const { p, store, seen } = player(4);
    p.start();
    expect(seen).toHaveLength(1);
    await elapse(249);
    expect(store.getState().phase).toBe('preflight');
    await elapse(1);
    expect(store.getState().phase).toBe('baseline'); // 1 s of journal at 4× = 250 ms
    await elapse(2_500 - 250 - 1);
    expect(store.getState().phase).toBe('baseline');
    await elapse(1);
    expect(store.getState().phase).toBe('inject'); // 10 s at 4× = 2.5 s
    expect(p.status.getState()).toMatchObject({ speed: 4, startMs: T0, markMs: 0, durationMs: 20_000, paused: false, ended: false });
    expect(p.positionMs()).toBe(T0 + 10_000);
    await elapse(2_500);
    expect(p.status.getState().ended).toBe(true);
    await expect(p.ended).resolves.toBeUndefined();
    expect(seen).toEqual(EVENTS);
    expect(store.getState()).toEqual(EVENTS.reduce(reduce, initialState()));
  });

  it('pauses and resumes where it was', async () => {
    const { p, store } = player(1);
    p.start();
    await elapse(5_500);
    p.togglePause();
    expect(p.status.getState()).toMatchObject({ paused: true, markMs: 5_500 });
    await elapse(60_000);
    expect(store.getState().phase).toBe('baseline');
    p.togglePause();
    await elapse(4_499);
    expect(store.getState().phase).toBe('baseline');
    await elapse(1);
    expect(store.getState().phase).toBe('inject');
  });

  it('seeks forward by playing the events between, and back by rebuilding the state from the start', async () => {
    const { p, store, seen } = player(1);
    p.start();
    await elapse(6_000);
    p.seekBy(5_000);
    expect(store.getState().phase).toBe('inject');
    expect(p.status.getState().markMs).toBe(11_000);
    // a headless face would get each event once, in order, the skipped ones too
    expect(seen).toEqual(EVENTS.slice(0, 11));
    p.seekBy(-5_000);
    expect(store.getState().phase).toBe('baseline');
    expect(store.getState()).toEqual(stateAt(EVENTS, countUpTo(replayTimes(EVENTS), T0 + 6_000)));
    p.seekBy(-60_000);
    expect(store.getState()).toEqual(stateAt(EVENTS, 1));
    expect(p.status.getState().markMs).toBe(0);
    // playing on from there: the next event comes at its own pace
    await elapse(999);
    expect(store.getState().phase).toBe('preflight');
    await elapse(1);
    expect(store.getState().phase).toBe('baseline');
  });

  it('changes speed from where it is', async () => {
    const { p, store } = player(1);
    p.start();
    await elapse(2_000);
    p.faster();
    p.faster();
    expect(p.status.getState().speed).toBe(4);
    // 8 s left to the inject at 4×: 2 s
    await elapse(1_999);
    expect(store.getState().phase).toBe('baseline');
    await elapse(1);
    expect(store.getState().phase).toBe('inject');
    p.slower();
    expect(p.status.getState().speed).toBe(2);
  });

  it('counts its seeks (the screen shows a seek at once); its status changes with a seek, a pause, a speed, the end, not each event', async () => {
    const many: GamedayEvent[] = Array.from({ length: 2_000 }, (_, i) => note(i * 250, `n${i}`));
    const store = createGamedayStore();
    const p = new ReplayPlayer(many, { speed: 1000, store });
    let published = 0;
    p.status.subscribe(() => published++);
    p.start();
    await vi.advanceTimersByTimeAsync(600);
    // 500 s of journal in 500 ms, 2000 events: one status update, the end
    expect(p.status.getState().ended).toBe(true);
    expect(published).toBe(1);
    expect(store.getState()).toEqual(many.reduce(reduce, initialState()));
    expect(p.status.getState().seeks).toBe(0);
    p.seekBy(-5_000);
    p.seekBy(5_000);
    expect(p.status.getState().seeks).toBe(2);
  });

  it('stops its timers when disposed', async () => {
    const { p, store } = player(1);
    p.start();
    p.dispose();
    await elapse(60_000);
    expect(store.getState().phase).toBe('preflight');
    expect(vi.getTimerCount()).toBe(0);
  });
});
