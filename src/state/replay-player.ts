// A journal played back as an event source: its events reach the faces at their recorded pace (times a
// speed), into the same store the live control room reads, or to a headless face. The journal's time
// is the replay's clock: the reducer sets the state's nowMs from each event, so elapsed times and the
// fault window read as they did live. Seeking back rebuilds the state by reducing the events from the
// start (replay-cursor.ts). Nothing here touches a ledger, a fault or traffic: it only reads events.
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { GamedayEvent } from '../engine/events.ts';
import { reduce } from './reducer.ts';
import {
  CHECKPOINT_EVERY,
  advance,
  countUpTo,
  delayToNextMs,
  fasterSpeed,
  replayTimes,
  seekTarget,
  slowerSpeed,
  stateAt,
} from './replay-cursor.ts';
import type { GamedayState, GamedayStore, RunControls } from './store.ts';

/** What the control room shows of the replay itself. */
export interface ReplayStatus {
  speed: number;
  /** the journal time of its first event */
  startMs: number;
  /**
   * Where the last seek, pause, resume or change of speed put the replay (since the first event).
   * While it plays, the events' own times carry the position on (the state's nowMs): the header
   * shows the later of the two, so its position and its elapsed time move together.
   */
  markMs: number;
  /** from the first event to the last */
  durationMs: number;
  paused: boolean;
  /** every event has been played */
  ended: boolean;
  /** counts the seeks: each one replaces the state, which the screen shows at once */
  seeks: number;
}

/** What the replay's keys can do; there is nothing else to act on. */
export interface ReplayControls {
  togglePause(): void;
  seekBy(deltaMs: number): void;
  faster(): void;
  slower(): void;
}

/** A replay as the control room sees it: its controls and its status. */
export interface ReplaySource extends ReplayControls {
  readonly status: StoreApi<ReplayStatus>;
}

/**
 * The run's controls in a replay: there is no run. The replay's key map binds none of the keys that
 * would call these, and they do nothing anyway: a replay never stops, rolls back, injects or spends.
 */
export const NO_RUN: RunControls = {
  emergencyStop: () => {},
  rollbackNow: () => {},
  togglePause: () => {},
  addNote: () => {},
};

export interface ReplayOptions {
  speed: number;
  /** the faces' store: fed the events, rebuilt on a seek back */
  store?: GamedayStore;
  /** a headless face: each event as it is played */
  onEvent?: (e: GamedayEvent) => void;
  now?: () => number;
}

export class ReplayPlayer implements ReplaySource {
  readonly status: StoreApi<ReplayStatus>;
  private readonly times: number[];
  private readonly startMs: number;
  private readonly endMs: number;
  private readonly checkpoints = new Map<number, GamedayState>();
  private readonly now: () => number;
  /** the next event to play */
  private next = 0;
  /** journal time at anchorWallMs */
  private anchorMs: number;
  private anchorWallMs = 0;
  private speed: number;
  private paused = false;
  private started = false;
  private timer: NodeJS.Timeout | null = null;
  private seeks = 0;
  private endedResolve: () => void = () => {};
  /** resolves once the last event has been played */
  readonly ended: Promise<void>;

  constructor(
    private readonly events: readonly GamedayEvent[],
    private readonly opts: ReplayOptions,
  ) {
    this.times = replayTimes(events);
    this.startMs = this.times[0] ?? 0;
    this.endMs = this.times.at(-1) ?? 0;
    this.anchorMs = this.startMs;
    this.speed = opts.speed;
    this.now = opts.now ?? Date.now;
    this.ended = new Promise((resolve) => (this.endedResolve = resolve));
    this.status = createStore<ReplayStatus>()(() => this.snapshot());
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.anchorWallMs = this.now();
    this.playDue();
  }

  /** Stops the timers (the user left). */
  dispose(): void {
    this.clearTimer();
    this.paused = true;
  }

  /** The journal time the replay is at. */
  positionMs(): number {
    if (this.paused || !this.started) return this.anchorMs;
    return advance(this.anchorMs, this.now() - this.anchorWallMs, this.speed, this.endMs);
  }

  togglePause(): void {
    this.reanchor();
    this.paused = !this.paused;
    if (this.paused) this.clearTimer();
    else this.schedule();
    this.publish();
  }

  seekBy(deltaMs: number): void {
    const from = this.positionMs();
    const target = seekTarget(from, deltaMs, this.startMs, this.endMs);
    const count = countUpTo(this.times, target);
    if (count < this.next && this.opts.store) {
      this.opts.store.setState(stateAt(this.events, count, this.checkpoints), true);
      this.next = count;
    } else {
      this.playUpTo(count);
    }
    this.anchorMs = target;
    this.anchorWallMs = this.now();
    this.seeks++;
    this.clearTimer();
    if (!this.paused) this.schedule();
    this.publish();
  }

  faster(): void {
    this.setSpeed(fasterSpeed(this.speed));
  }

  slower(): void {
    this.setSpeed(slowerSpeed(this.speed));
  }

  private setSpeed(speed: number): void {
    this.reanchor();
    this.speed = speed;
    this.clearTimer();
    if (!this.paused) this.schedule();
    this.publish();
  }

  /** Moves the anchor to now, so a new speed or a pause starts from where the replay is. */
  private reanchor(): void {
    this.anchorMs = this.positionMs();
    this.anchorWallMs = this.now();
  }

  /** Plays every event up to the current position, then waits for the next one. */
  private playDue(): void {
    this.timer = null;
    this.playUpTo(countUpTo(this.times, this.positionMs()));
    this.publish();
    if (!this.paused) this.schedule();
  }

  private playUpTo(count: number): void {
    if (count <= this.next) return;
    const { store, onEvent } = this.opts;
    let state = store?.getState();
    for (; this.next < count; this.next++) {
      const e = this.events[this.next];
      onEvent?.(e);
      if (state) {
        state = reduce(state, e);
        if ((this.next + 1) % CHECKPOINT_EVERY === 0) this.checkpoints.set(this.next + 1, state);
      }
    }
    // one update for the whole batch: at 64× many events fall into one timer
    if (store && state) store.setState(state, true);
    if (this.next >= this.events.length) this.endedResolve();
  }

  private schedule(): void {
    const delayMs = delayToNextMs(this.times, this.next, this.positionMs(), this.speed);
    if (delayMs === null) return;
    this.timer = setTimeout(() => this.playDue(), Math.ceil(delayMs));
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private snapshot(): ReplayStatus {
    return {
      speed: this.speed,
      startMs: this.startMs,
      markMs: this.anchorMs - this.startMs,
      durationMs: this.endMs - this.startMs,
      paused: this.paused,
      ended: this.next >= this.events.length,
      seeks: this.seeks,
    };
  }

  /** The status, when anything in it changed: a seek, a pause, a speed, the end (not each event). */
  private publish(): void {
    const next = this.snapshot();
    const cur = this.status.getState();
    if ((Object.keys(next) as (keyof ReplayStatus)[]).some((k) => next[k] !== cur[k])) this.status.setState(next, true);
  }
}
