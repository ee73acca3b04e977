// Where a replay stands in a journal, as pure functions: which events have happened by a journal time,
// the faces' state then, how long to wait for the next event at a speed, and the speed steps. The
// replay player (replay-player.ts) drives these with timers; the journal's time is the replay's clock.
import type { GamedayEvent } from '../engine/events.ts';
import { reduce } from './reducer.ts';
import { initialState, type GamedayState } from './store.ts';

/** The speeds + and - step through (a --speed between them steps to the next one). */
export const SPEED_STEPS: readonly number[] = [0.25, 0.5, 1, 2, 4, 8, 16, 32, 64];
/** ←/→ move this far in journal time. */
export const SEEK_STEP_MS = 5_000;
/** A state is kept every this many events, so seeking back reduces a few thousand events, not a day's. */
export const CHECKPOINT_EVERY = 2_000;

/**
 * The journal time of each event. A wall clock set back mid-run could make an event older than the
 * one before it; a replay moves forward only, so each event happens no earlier than its predecessor.
 */
export function replayTimes(events: readonly GamedayEvent[]): number[] {
  const times: number[] = [];
  let last = -Infinity;
  for (const e of events) {
    last = Math.max(last, e.ts);
    times.push(last);
  }
  return times;
}

/** How many events have happened by journal time tMs (times in order: a binary search). */
export function countUpTo(times: readonly number[], tMs: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (times[mid] <= tMs) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The faces' state after the first `count` events: reduced from the nearest checkpoint before it (or
 * from the start), recording checkpoints on the way. The reducer is pure, so this is the state a live
 * store had then.
 */
export function stateAt(events: readonly GamedayEvent[], count: number, checkpoints: Map<number, GamedayState> = new Map()): GamedayState {
  const n = Math.max(0, Math.min(count, events.length));
  let from = Math.floor(n / CHECKPOINT_EVERY) * CHECKPOINT_EVERY;
  while (from > 0 && !checkpoints.has(from)) from -= CHECKPOINT_EVERY;
  let state = from > 0 ? checkpoints.get(from)! : initialState();
  for (let i = from; i < n; i++) {
    state = reduce(state, events[i]);
    if ((i + 1) % CHECKPOINT_EVERY === 0) checkpoints.set(i + 1, state);
  }
  return state;
}

/** Wall-clock milliseconds until the next event at `speed`; null when every event has happened. */
export function delayToNextMs(times: readonly number[], next: number, positionMs: number, speed: number): number | null {
  if (next >= times.length) return null;
  return Math.max(0, (times[next] - positionMs) / speed);
}

/** The journal time `wallMs` of playing at `speed` reaches from `fromMs`, no further than the end. */
export function advance(fromMs: number, wallMs: number, speed: number, endMs: number): number {
  return Math.min(endMs, fromMs + Math.max(0, wallMs) * speed);
}

/** A seek's target, inside the journal. */
export function seekTarget(positionMs: number, deltaMs: number, startMs: number, endMs: number): number {
  return Math.max(startMs, Math.min(endMs, positionMs + deltaMs));
}

/** The next step up (+); at or over the top step, the speed stays. */
export function fasterSpeed(speed: number): number {
  return SPEED_STEPS.find((s) => s > speed) ?? speed;
}

/** The next step down (-); at or under the bottom step, the speed stays. */
export function slowerSpeed(speed: number): number {
  return [...SPEED_STEPS].reverse().find((s) => s < speed) ?? speed;
}
