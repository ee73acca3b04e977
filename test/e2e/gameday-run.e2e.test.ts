// `gameday run` in a real terminal (tmux, 120×40), the demo game day as a person sees it.
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, writeFile, ROOT, BIN } from '../helpers/cli.ts';
import { TmuxSession, killAllTmuxSessions, tmuxAvailable } from './tmux-harness.ts';

beforeAll(async () => {
  expect(await tmuxAvailable(), 'tmux is required for the terminal end-to-end tests (apt-get install tmux)').toBe(true);
});
afterEach(async () => {
  await killAllTmuxSessions();
});

function start(args: string[], stateDir: string) {
  return TmuxSession.start({
    command: [process.execPath, BIN, 'run', '--state-dir', stateDir, '--metrics-port', '0', ...args],
    cwd: ROOT,
    columns: 120,
    rows: 40,
    name: 'gameday-run',
  });
}

describe('the control room on a real terminal', () => {
  it('shows money, p95 and impact while observing; x stops at once, rolls back, and the run exits 5', async () => {
    const dir = tempDir();
    // A gentle fault (the SLOs hold) so the experiment is still observing when x is pressed.
    const file = writeFile(
      dir,
      'gentle.yaml',
      `name: press-x
traffic: { rps: 100 }
fault: { type: latency, latency: 20ms, probability: 0.2 }
schedule: { baseline: 2s, duration: 120s }
`,
    );
    const t = await start(['--experiment', file], join(dir, 'state'));
    const screen = await t.waitFor(/OBSERV/, { timeoutMs: 40_000 });
    expect(screen).toMatch(/\$\d+\.\d\d/); // a dollar figure
    expect(screen).toMatch(/p95 latency\s+\d+ms/);
    expect(screen).toMatch(/Impact/);
    expect(screen.split('\n').length).toBeLessThanOrEqual(40);

    const pressedAt = Date.now();
    await t.sendKeys('x');
    const stopped = await t.waitFor(/EMERGENCY STOP \(keyboard\)/, { timeoutMs: 1_000, intervalMs: 25 });
    const seenMs = Date.now() - pressedAt;
    expect(seenMs).toBeLessThan(1_000);
    await t.waitFor(/remove-fault done/, { timeoutMs: 1_000, intervalMs: 25 });
    expect(stopped).toMatch(/EMERGENCY STOP/);
    const summary = await t.waitFor(/exit code 5/, { timeoutMs: 15_000 });
    expect(summary).toMatch(/fault removed\s+yes/);
    await t.sendKeys('q');
    const exit = await t.waitForExit({ timeoutMs: 15_000 });
    expect(exit.status, exit.screen).toBe(5);
  });

  it('a latency breach rolls back by itself and the summary screen shows it (exit 3)', async () => {
    const dir = tempDir();
    const file = writeFile(
      dir,
      'breach.yaml',
      `name: breach-by-itself
traffic: { rps: 100 }
fault: { type: latency, latency: 800ms }
schedule: { baseline: 2s, duration: 60s, recoveryWindow: 2s }
rollback: [traffic-shift]
`,
    );
    const t = await start(['--experiment', file], join(dir, 'state'));
    const summary = await t.waitFor(/exit code 3/, { timeoutMs: 60_000 });
    expect(summary).toMatch(/SLO BREACH/);
    expect(summary).toMatch(/detection\s+\d+ms/);
    expect(summary).toMatch(/recovery verified yes/);
    expect(summary).toMatch(/traffic-shift/);
    await t.sendKeys('q');
    const exit = await t.waitForExit({ timeoutMs: 15_000 });
    expect(exit.status, exit.screen).toBe(3);
    // after the control room, the result stays on the terminal for the shell
    expect(exit.screen).toMatch(/result: BREACH \(exit 3\)/);
  });
});
