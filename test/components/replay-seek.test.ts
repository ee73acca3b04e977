// A replay's seek through the real entry point (renderControlRoom): shown at once, not at the
// control room's next 1 s snapshot of the numbers.
import { describe, expect, it, vi } from 'vitest';

// Under CI, Ink (is-in-ci, read when Ink loads) draws only its last frame, and this file watches the
// frames as they come; vi.hoisted runs before the imports below, so this Ink renders live frames.
vi.hoisted(() => {
  for (const k of ['CI', 'CONTINUOUS_INTEGRATION']) delete process.env[k];
});
import { renderControlRoom } from '../../components/render-control-room.tsx';
import type { GamedayEvent } from '../../src/engine/events.ts';
import { ReplayPlayer } from '../../src/state/replay-player.ts';
import { createGamedayStore } from '../../src/state/store.ts';
import { liveStore } from './fixtures.ts';
import { FakeStdin, FakeStdout, plain, tick } from './render-at.ts';

const asOut = (s: FakeStdout) => s as unknown as NodeJS.WriteStream;
const asIn = (s: FakeStdin) => s as unknown as NodeJS.ReadStream;

describe('renderControlRoom for a replay', () => {
  const T = 1_800_000_000_000;
  /** an observe phase with a tick every 250 ms whose p95 is 100 ms + a millisecond per tick */
  const events: GamedayEvent[] = [
    { type: 'phase', ts: T, phase: 'observe' },
    ...Array.from({ length: 120 }, (_, i): GamedayEvent => ({
      type: 'tick',
      ts: T + (i + 1) * 250,
      phase: 'observe',
      slis: { p95LatencyMs: 101 + i, errorRate: 0, availability: 1, healthFailures: 0, samples: 500, throughputRps: 100 },
      budget: liveStore().getState().budget,
      impact: { score: 0, band: 'none', driver: null, peak: 0 },
      faultActive: true,
      byOutcome: { ok: 1, error: 0, timeout: 0, reset: 0, refused: 0 },
      guards: [],
    })),
  ];

  it('shows a seek at once, though nothing on the timeline changed (not at the next 1 s snapshot)', async () => {
    const store = createGamedayStore();
    const player = new ReplayPlayer(events, { speed: 1, store });
    const stdout = new FakeStdout(120, 40);
    const stdin = new FakeStdin(true);
    const room = renderControlRoom({ store, replay: player, stdout: asOut(stdout), stdin: asIn(stdin), incrementalRendering: false });
    player.start();
    try {
      await tick();
      stdin.write(' ');
      await vi.waitFor(() => expect(plain(stdout.lastFrame() ?? '')).toContain('REPLAY PAUSED'), { timeout: 3000, interval: 10 });
      const frame = () => plain(stdout.lastFrame() ?? '');
      const seekShows = async (key: string, pattern: RegExp) => {
        const at = Date.now();
        stdin.write(key);
        await vi.waitFor(() => expect(frame()).toMatch(pattern), { timeout: 3000, interval: 5 });
        return Date.now() - at;
      };
      // 5 s in: the 20th tick, p95 120ms
      await seekShows('\u001b[C', /p95 latency\s+120ms/);
      // right after that copy, the mirror's next snapshot is a second away: a seek does not wait for it
      expect(await seekShows('\u001b[C', /p95 latency\s+140ms/)).toBeLessThan(500);
      expect(await seekShows('\u001b[D', /p95 latency\s+120ms/)).toBeLessThan(500);
      expect(frame()).toMatch(/‖ REPLAY PAUSED 1× 0:05\/0:30/);
    } finally {
      player.dispose();
      room.unmount();
    }
  });
});
