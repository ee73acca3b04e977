// The control room as a replay: the header says so, the replay's keys move through the journal (space,
// ←/→, -/+, q), and the live run's keys (x, r, p, n, the quit question) act on nothing.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, render } from 'ink-testing-library';
import { createStore } from 'zustand/vanilla';
import { App } from '../../components/App.tsx';
import { READ_ONLY_NOTICE } from '../../components/key-reducer.ts';
import { READ_ONLY_HINT } from '../../components/KeyHints.tsx';
import { replayBadge, replayPositionMs, speedLabel } from '../../components/replay-badge.ts';
import type { GamedayEvent } from '../../src/engine/events.ts';
import { ReplayPlayer, type ReplaySource, type ReplayStatus } from '../../src/state/replay-player.ts';
import { SEEK_STEP_MS } from '../../src/state/replay-cursor.ts';
import { createGamedayStore, type GamedayStore } from '../../src/state/store.ts';
import { fakeControls, finishedStore, liveStore, T0 } from './fixtures.ts';
import { plain } from './render-at.ts';

afterEach(() => cleanup());

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
const eventually = (assertion: () => void) => vi.waitFor(assertion, { timeout: 3000, interval: 10 });

const LEFT = '\u001b[D';
const RIGHT = '\u001b[C';

interface ReplayCalls {
  togglePause: number;
  seekBy: number[];
  faster: number;
  slower: number;
}

/** A replay that records what the keys asked of it, with a status the test sets. */
function fakeReplay(status: Partial<ReplayStatus> = {}): ReplaySource & { calls: ReplayCalls } {
  const calls: ReplayCalls = { togglePause: 0, seekBy: [], faster: 0, slower: 0 };
  return {
    calls,
    status: createStore<ReplayStatus>()(() => ({
      speed: 4,
      startMs: T0,
      markMs: 0,
      durationMs: 60_000,
      paused: false,
      ended: false,
      seeks: 0,
      ...status,
    })),
    togglePause: () => void calls.togglePause++,
    seekBy: (deltaMs) => void calls.seekBy.push(deltaMs),
    faster: () => void calls.faster++,
    slower: () => void calls.slower++,
  };
}

function setup(store: GamedayStore = liveStore(), replay: ReplaySource = fakeReplay()) {
  const controls = fakeControls();
  const onQuit = vi.fn();
  const r = render(<App store={store} controls={controls} onQuit={onQuit} replay={replay} />);
  const press = async (data: string) => {
    await tick(); // a visible frame does not mean the input handler is armed yet
    r.stdin.write(data);
    await tick();
  };
  const screen = () => plain(r.lastFrame() ?? '');
  return { r, store, controls, runCalls: controls.calls, onQuit, press, screen };
}

const NO_RUN_CALLS = { emergencyStop: [], rollbackNow: 0, togglePause: 0, addNote: [] };

describe('a replay on screen', () => {
  it('says it is a replay, at what speed and where, in the header', async () => {
    const t = setup();
    await eventually(() => expect(t.screen().split('\n')[0]).toMatch(/^ ▶ REPLAY 4× 0:41\/1:00 {2}GAMEDAY │ checkout-latency/));
    expect(t.screen()).toContain(READ_ONLY_HINT);
    expect(t.screen()).toContain('space pause');
    expect(t.screen()).toContain('← -5s');
    expect(t.screen()).not.toContain('EMERGENCY STOP');
  });
  it('shows the pause and the end; the position is the state’s clock, or a seek’s when later', () => {
    const status = { speed: 0.25, startMs: T0, markMs: 3_000, durationMs: 31_000, paused: true, ended: false, seeks: 1 };
    // a seek to 0:03 landed after the last event (at 0:01)
    expect(replayBadge(status, T0 + 1_000).text).toBe(' ‖ REPLAY PAUSED 0.25× 0:03/0:31 ');
    // playing on: the events' times
    expect(replayBadge({ ...status, paused: false }, T0 + 12_500).text).toBe(' ▶ REPLAY 0.25× 0:12/0:31 ');
    // before the first event, and past the end
    expect(replayPositionMs({ ...status, markMs: 0 }, 0)).toBe(0);
    expect(replayBadge({ ...status, speed: 64, paused: false, ended: true }, T0 + 99_000).text).toBe(' ■ REPLAY END 64× 0:31/0:31 ');
    // a journal without a summary (its controller was killed) says so at its end
    expect(replayBadge({ ...status, paused: false, ended: true }, T0 + 31_000, false).text).toBe(
      ' ■ REPLAY END, NO SUMMARY: THE RUN DID NOT FINISH 0.25× 0:31/0:31 ',
    );
    expect(speedLabel(1.5)).toBe('1.5×');
    expect(speedLabel(1000)).toBe('1000×');
  });
  it('a paused replay says so and offers resume', async () => {
    const t = setup(liveStore(), fakeReplay({ paused: true }));
    await eventually(() => expect(t.screen()).toContain('‖ REPLAY PAUSED 4×'));
    expect(t.screen()).toContain('space resume');
  });
  it('a finished run replays to its summary screen, with the replay badge', async () => {
    const t = setup(finishedStore(), fakeReplay({ ended: true, durationMs: 41_000 }));
    await eventually(() => expect(t.screen()).toContain('SLO BREACH — rolled back and recovered'));
    expect(t.screen()).toContain('■ REPLAY END 4× 0:41/0:41');
    expect(t.screen()).toContain('q quit');
  });
});

describe('the replay keys', () => {
  it('space pauses and resumes, ← and → seek 5 s, - and + change speed', async () => {
    const replay = fakeReplay();
    const t = setup(liveStore(), replay);
    await t.press(' ');
    await t.press(RIGHT);
    await t.press(LEFT);
    await t.press(LEFT);
    await t.press('+');
    await t.press('=');
    await t.press('-');
    expect(replay.calls).toEqual({ togglePause: 1, seekBy: [SEEK_STEP_MS, -SEEK_STEP_MS, -SEEK_STEP_MS], faster: 2, slower: 1 });
    expect(t.runCalls).toEqual(NO_RUN_CALLS);
  });
  it('q leaves at once, a fault active or not, with no question asked', async () => {
    const t = setup(liveStore({ faultActive: true }));
    await t.press('q');
    expect(t.onQuit).toHaveBeenCalledTimes(1);
    expect(t.screen()).not.toContain('quit and roll back?');
    expect(t.runCalls).toEqual(NO_RUN_CALLS);
  });
  it('Ctrl+C leaves, and stops nothing', async () => {
    const t = setup();
    await t.press('\u0003');
    expect(t.onQuit).toHaveBeenCalledTimes(1);
    expect(t.runCalls).toEqual(NO_RUN_CALLS);
  });
  it('x, !, r, p and n touch nothing: they say the replay is read only', async () => {
    const replay = fakeReplay();
    const t = setup(liveStore({ faultActive: true }), replay);
    for (const k of ['x', '!', 'X', 'r', 'p', 'n']) await t.press(k);
    // n opened no note: these letters are not typed into one
    await t.press('hello');
    await t.press('\r');
    expect(t.runCalls).toEqual(NO_RUN_CALLS);
    expect(replay.calls).toEqual({ togglePause: 0, seekBy: [], faster: 0, slower: 0 });
    expect(t.onQuit).not.toHaveBeenCalled();
    await eventually(() => expect(t.screen()).toContain(READ_ONLY_NOTICE));
    expect(t.screen()).not.toContain('note ›');
    expect(t.screen()).not.toContain('EMERGENCY STOP');
  });
  it('? shows the replay’s own keys', async () => {
    const t = setup();
    await t.press('?');
    await eventually(() => expect(t.screen()).toContain('Keys — replay'));
    expect(t.screen()).toContain('pause / resume the replay');
    expect(t.screen()).not.toContain('EMERGENCY STOP');
    await t.press('\u001b');
    await eventually(() => expect(t.screen()).not.toContain('Keys — replay'));
  });
});

describe('a real player under the keys', () => {
  const events: GamedayEvent[] = [
    { type: 'phase', ts: T0, phase: 'preflight' },
    { type: 'phase', ts: T0 + 1_000, phase: 'baseline' },
    { type: 'phase', ts: T0 + 30_000, phase: 'inject' },
  ];
  it('→ jumps ahead, ← comes back, space pauses: on screen', async () => {
    const store = createGamedayStore();
    const player = new ReplayPlayer(events, { speed: 1, store });
    const t = setup(store, player);
    player.start();
    try {
      await eventually(() => expect(t.screen()).toContain('▶ REPLAY 1× 0:00/0:30'));
      await t.press(' ');
      await eventually(() => expect(t.screen()).toContain('‖ REPLAY PAUSED 1× 0:00/0:30'));
      for (let i = 0; i < 6; i++) await t.press(RIGHT);
      await eventually(() => expect(t.screen()).toContain(' INJECT '));
      expect(t.screen()).toContain('0:30/0:30');
      await t.press(LEFT);
      await eventually(() => expect(t.screen()).toContain(' BASELINE '));
      expect(t.screen()).toContain('‖ REPLAY PAUSED 1× 0:25/0:30');
      expect(t.runCalls).toEqual(NO_RUN_CALLS);
    } finally {
      player.dispose();
    }
  });
});
