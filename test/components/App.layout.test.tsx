// The whole control room at real terminal sizes: two columns from 100 wide, one below, and a live
// region that always stays shorter than the terminal.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { App } from '../../components/App.tsx';
import { createGamedayStore, type GamedayStore } from '../../src/state/store.ts';
import { entry, fakeControls, finishedStore, liveState, liveStore } from './fixtures.ts';
import { cleanupAll, plain, renderAt } from './render-at.ts';

afterEach(() => cleanupAll());

const eventually = (assertion: () => void) => vi.waitFor(assertion, { timeout: 3000, interval: 10 });

function preflightStore(): GamedayStore {
  const s = liveState();
  return createGamedayStore({
    ...s,
    phase: 'preflight',
    faultActive: false,
    faultStartedAtMs: null,
    slis: null,
    baseline: null,
    history: [],
    timeline: [],
    preflight: Array.from({ length: 7 }, (_, i) => ({ name: `check ${i}`, status: i === 6 ? 'pending' : 'pass', detail: `detail ${i}` })),
  });
}

function busyStore(): GamedayStore {
  const store = liveStore();
  const timeline = Array.from({ length: 120 }, (_, i) => entry(i * 250, i % 2 ? 'rollback' : 'breach', `event ${i}`, { durationMs: i }));
  store.setState({ timeline });
  return store;
}

const stores: Record<string, () => GamedayStore> = {
  live: busyStore,
  preflight: preflightStore,
  finished: () => {
    const s = finishedStore();
    s.setState({ timeline: busyStore().getState().timeline });
    return s;
  },
};

function view(store: GamedayStore, columns: number, rows: number) {
  const r = renderAt(<App store={store} controls={fakeControls()} onQuit={() => {}} />, { columns, rows });
  const frame = plain(r.lastFrame());
  return { r, frame, lines: frame.split('\n') };
}

describe('layout', () => {
  it('uses two columns at 120 wide and one at 80', () => {
    const wide = view(liveStore(), 120, 40);
    const budgetLine = wide.lines.find((l) => l.includes('Budget burn')) ?? '';
    expect(budgetLine).toContain('SLOs');
    const narrow = view(liveStore(), 80, 40);
    const narrowBudget = narrow.lines.find((l) => l.includes('Budget burn')) ?? '';
    expect(narrowBudget).not.toContain('SLOs');
    expect(narrow.frame).toContain('SLOs');
    for (const v of [wide, narrow]) {
      for (const text of ['checkout-latency', '$31.20 / $50.00', 'p95 latency', '812ms', '73/100', 'HIGH', 'EMERGENCY STOP', 'Timeline']) {
        expect(v.frame).toContain(text);
      }
    }
  });

  for (const [name, make] of Object.entries(stores)) {
    it(`keeps the ${name} screen shorter than the terminal and within its width`, () => {
      for (const [columns, rows] of [
        [200, 60],
        [120, 40],
        [120, 24],
        [100, 30],
        [80, 24],
        [80, 18],
        [60, 20],
        [50, 16],
      ]) {
        const v = view(make(), columns, rows);
        expect(v.lines.length, `${columns}x${rows}`).toBeLessThan(rows);
        for (const line of v.lines) expect([...line].length, `${columns}x${rows}: ${line}`).toBeLessThanOrEqual(columns);
        expect(v.frame).toContain(name === 'finished' ? 'q quit' : 'EMERGENCY STOP');
        v.r.unmount();
      }
    });
  }

  it('fills a tall terminal with timeline entries and shows the newest', () => {
    const v = view(busyStore(), 120, 50);
    expect(v.frame).toContain('event 119');
    expect(v.frame).toMatch(/last \d+ of 120/);
    expect(v.lines.length).toBeGreaterThan(40);
    expect(v.lines.length).toBeLessThan(50);
  });

  it('shows the preflight checklist before anything is injected, and not after', () => {
    expect(view(preflightStore(), 120, 40).frame).toContain('check 5');
    expect(view(preflightStore(), 120, 40).frame).toContain('6/7 passed');
    expect(view(liveStore(), 120, 40).frame).not.toContain('Preflight');
  });

  it('re-lays out when the terminal is resized', async () => {
    const v = view(liveStore(), 120, 40);
    v.r.stdout.resize(80, 24);
    await eventually(() => {
      const lines = plain(v.r.lastFrame()).split('\n');
      expect(lines.length).toBeLessThan(24);
      expect(Math.max(...lines.map((l) => [...l].length))).toBeLessThanOrEqual(80);
    });
  });

  it('shows the summary after the run, with the exit code', () => {
    const v = view(finishedStore(), 120, 40);
    expect(v.frame).toContain('SLO BREACH — rolled back and recovered');
    expect(v.frame).toContain('exit code 3');
    expect(v.frame).not.toContain('Budget burn');
  });

  it('without raw mode it renders, takes no keys and says so', async () => {
    const controls = fakeControls();
    const r = renderAt(<App store={liveStore()} controls={controls} onQuit={() => {}} />, { columns: 120, rows: 40, tty: false });
    expect(plain(r.lastFrame())).toContain('keyboard unavailable');
    await r.press('x');
    expect(controls.calls.emergencyStop).toEqual([]);
  });

  it('follows the store as the engine writes it', async () => {
    const store = liveStore();
    const v = view(store, 120, 40);
    store.setState({ impact: { score: 97, band: 'critical', driver: 'errorRate', peak: 97 }, phase: 'rollback', faultActive: false });
    await eventually(() => {
      const frame = plain(v.r.lastFrame());
      expect(frame).toContain('97/100');
      expect(frame).toContain('CRITICAL');
      expect(frame).toContain('ROLLING BACK');
    });
  });
});
