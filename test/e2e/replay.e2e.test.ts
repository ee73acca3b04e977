// `gameday replay` in a real terminal (tmux, 120×40): a real breach run against the embedded demo is
// run in the control room and journaled, then replayed from its journal. Measured: at 4× the breach
// shows after about a quarter of the time it took live; seeking moves the screen at once (paused, so
// only the seek can have moved it); the replay's summary screen is the live run's, line for line
// (all but the title bar, which carries the replay badge, and the key line).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { GamedayEvent } from '../../src/engine/events.ts';
import { BIN, ROOT, tempDir, writeFile } from '../helpers/cli.ts';
import { KEYS, TmuxSession, killAllTmuxSessions, tmuxAvailable } from './tmux-harness.ts';

beforeAll(async () => {
  expect(await tmuxAvailable(), 'tmux is required for the terminal end-to-end tests (apt-get install tmux)').toBe(true);
});
afterEach(async () => {
  await killAllTmuxSessions();
});

const SPEED = 4;

function session(args: string[], name: string) {
  return TmuxSession.start({ command: [process.execPath, BIN, ...args], cwd: ROOT, columns: 120, rows: 40, name });
}

/** The journal's events (line 1 is its header). */
function journalEvents(path: string): GamedayEvent[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .slice(1)
    .filter(Boolean)
    .map((l) => JSON.parse(l) as GamedayEvent);
}

/**
 * The screen once it has settled: two captures alike. Ink rewrites a frame line by line, so a capture
 * taken as the first line of a new frame appears may still hold the old frame's lower lines.
 */
async function settled(t: TmuxSession): Promise<string> {
  let last = await t.capture();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 150));
    const next = await t.capture();
    if (next === last) return next;
    last = next;
  }
}

/** The screen without its title bar and its key line (the last line): what a replay shares with the run. */
function body(screen: string): string[] {
  return screen.split('\n').slice(1, -1);
}

describe('gameday replay on a real terminal', () => {
  it('replays a breach at 4×, seeks both ways, and ends on the live run’s summary screen (exit 0)', async () => {
    const dir = tempDir('gameday-replay-e2e-');
    const journal = join(dir, 'breach.json');
    // a 4 s baseline, so the breach comes late enough to time its replay
    const file = writeFile(
      dir,
      'breach.yaml',
      `name: replay-me
traffic: { rps: 100 }
fault: { type: latency, latency: 800ms }
schedule: { baseline: 4s, duration: 60s, recoveryWindow: 2s }
`,
    );

    // 1. the live run, in the control room, journaled
    const live = await session(
      ['run', '--experiment', file, '--journal', journal, '--state-dir', join(dir, 'state'), '--metrics-port', '0'],
      'replay-live',
    );
    await live.waitFor(/exit code 3/, { timeoutMs: 60_000 });
    const liveSummary = await settled(live);
    expect(liveSummary).toMatch(/SLO BREACH/);
    await live.sendKeys('q');
    expect((await live.waitForExit({ timeoutMs: 15_000 })).status).toBe(3);

    const events = journalEvents(journal);
    const breach = events.find((e) => e.type === 'breach')!;
    const breachMs = breach.ts - events[0].ts;
    expect(breachMs).toBeGreaterThan(4_000);

    // 2. the replay at 4×: from its first frame to the breach on screen
    const t = await session(['replay', journal, '--speed', String(SPEED)], 'replay-4x');
    const first = await t.waitFor(`REPLAY ${SPEED}×`, { timeoutMs: 20_000, intervalMs: 20 });
    const startedAt = Date.now();
    expect(first).not.toContain('SLO breach');
    expect(first).toContain('replay: read only');
    const atBreach = await t.waitFor('SLO breach', { timeoutMs: 20_000, intervalMs: 20 });
    const seenMs = Date.now() - startedAt;
    const expectedMs = breachMs / SPEED;
    console.log(
      `replay at ${SPEED}×: breach on screen after ${seenMs} ms; journal ${breachMs} ms / ${SPEED} = ${Math.round(expectedMs)} ms`,
    );
    // a frame (≤ 12 a second, redraws of the live numbers once a second) and tmux polling add a little
    expect(Math.abs(seenMs - expectedMs)).toBeLessThan(Math.max(450, expectedMs * 0.25));
    expect(atBreach).toMatch(/^ ▶ REPLAY 4× /);

    // 3. the end: the live run's summary screen
    await t.waitFor(/exit code 3/, { timeoutMs: 20_000 });
    const replaySummary = await settled(t);
    expect(replaySummary).toMatch(/^ ■ REPLAY END 4× /);
    expect(body(replaySummary)).toEqual(body(liveSummary));
    // the title bar ends with the same result badge
    const badge = / ✖ SLO BREACH · exit 3$/;
    expect(liveSummary.split('\n')[0]).toMatch(badge);
    expect(replaySummary.split('\n')[0]).toMatch(badge);

    // 4. seeking, paused (so nothing but the seek moves the screen): ← is back in the baseline…
    await t.sendKeys('Space');
    // at the end the badge stays "REPLAY END"; the key line offers to resume
    await t.waitFor('space resume');
    const endMs = events.at(-1)!.ts - events[0].ts;
    const inject = events.find((e) => e.type === 'phase' && e.phase === 'inject')!;
    // 5 s back from the end must land before the fault went in for the check below to mean anything
    expect(endMs - 5_000).toBeLessThan(inject.ts - events[0].ts);
    await t.sendKeys('Left');
    const back = await t.waitFor(' BASELINE ', { timeoutMs: 5_000, intervalMs: 20 });
    expect(back).not.toContain('exit code 3');
    expect(back).not.toContain('SLO breach');
    expect(back).toMatch(/‖ REPLAY PAUSED 4× /);
    // …and → jumps ahead: the breach and the summary, at once, while paused
    const pressedAt = Date.now();
    await t.sendKeys('Right');
    const ahead = await t.waitFor(/exit code 3/, { timeoutMs: 5_000, intervalMs: 20 });
    // at once: a frame or two (paused: only the seek can have brought it)
    expect(Date.now() - pressedAt).toBeLessThan(1_500);
    expect(ahead).toContain('SLO breach');

    // 5. the run's keys touch nothing; q leaves with 0, the replayed result left on the terminal
    await t.sendKeys('x');
    await t.waitFor('replay: read only — nothing to stop');
    await t.sendKeys('q');
    const exit = await t.waitForExit({ timeoutMs: 15_000 });
    expect(exit.status, exit.screen).toBe(0);
    expect(exit.screen).toMatch(/result: BREACH \(exit 3\)/);
    // the journal was only read
    expect(journalEvents(journal)).toEqual(events);
  });

  it('a journal without a summary plays to its end and says so; Ctrl+C leaves, exit 0; so does closing the terminal (SIGHUP)', async () => {
    const dir = tempDir('gameday-replay-e2e-');
    const journal = writeFile(
      dir,
      'j.json',
      [
        { journal: 'gameday', version: 2, experimentId: 'e1', name: 'tiny', startedAt: new Date().toISOString(), plan: {} },
        { type: 'phase', ts: 1_800_000_000_000, phase: 'preflight' },
        { type: 'phase', ts: 1_800_000_060_000, phase: 'baseline' },
      ]
        .map((l) => JSON.stringify(l))
        .join('\n') + '\n',
    );
    // no summary: the run did not finish (its controller was killed), and the end says so
    const t = await session(['replay', journal, '--speed', '1000'], 'replay-ctrl-c');
    await t.waitFor('■ REPLAY END, NO SUMMARY: THE RUN DID NOT FINISH 1000× 1:00/1:00', { timeoutMs: 20_000 });
    await t.sendKeys(KEYS.ctrlC);
    expect((await t.waitForExit({ timeoutMs: 10_000 })).status).toBe(0);

    const closed = await session(['replay', journal], 'replay-hangup');
    await closed.waitFor('REPLAY 1× 0:00/1:00', { timeoutMs: 20_000 });
    await closed.hangUp();
    expect((await closed.waitForExit({ timeoutMs: 10_000 })).status).toBe(0);
  });
});
