// The control room in a real terminal (tmux): raw-mode keys, the live region's height, quitting.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { KEYS, TmuxSession, killAllTmuxSessions, tmuxAvailable } from './tmux-harness.ts';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const command = [process.execPath, '--import', 'tsx', 'test/e2e/control-room-fixture.ts'];
// Never skipped: without tmux these tests fail loudly (CI installs it).
beforeAll(async () => {
  expect(await tmuxAvailable(), 'tmux is required for the terminal end-to-end tests (apt-get install tmux)').toBe(true);
});
afterEach(async () => {
  await killAllTmuxSessions();
});

describe.runIf(process.platform !== 'win32')('control room in tmux', () => {
  it('renders shorter than the terminal, stops on x, shows the summary, exits 5 on q', async () => {
    const t = await TmuxSession.start({ command, cwd: repo, columns: 120, rows: 40, name: 'control-room' });
    const screen = await t.waitFor('EMERGENCY STOP', { timeoutMs: 30_000 });
    expect(screen).toContain('Budget burn');
    expect(screen).toContain('p95 latency');
    expect(screen.split('\n').length).toBeLessThan(40);
    await t.sendKeys('x');
    await t.waitFor('EMERGENCY STOP — rolled back');
    await t.sendKeys('q');
    const exit = await t.waitForExit();
    expect(exit, exit.screen).toMatchObject({ status: 5, signal: null });
    expect(exit.screen).toContain('exit code 5');
  });

  it('asks before quitting with a fault active; Ctrl+C stops and leaves', async () => {
    const t = await TmuxSession.start({ command, cwd: repo, columns: 80, rows: 24, name: 'control-room-narrow', env: { NO_COLOR: '1' } });
    await t.waitFor('EMERGENCY STOP', { timeoutMs: 30_000 });
    await t.sendKeys('q');
    await t.waitFor('Fault active — quit and roll back? (y/n)');
    await t.sendKeys('n');
    await t.waitForGone('quit and roll back?');
    await t.sendKeys('n');
    await t.waitFor('note ›');
    await t.type('dns flapping');
    await t.sendKeys(KEYS.enter);
    await t.waitFor('dns flapping');
    await t.sendKeys(KEYS.ctrlC);
    const exit = await t.waitForExit();
    expect(exit.status).toBe(5);
    expect(exit.screen).toContain('EMERGENCY STOP — rolled back');
    expect(await t.capture({ ansi: true, history: true })).not.toMatch(/\u001b\[(?:3[0-8]|4[0-8]|9[0-7]|10[0-7])[;m]/);
  });

  it('redraws cleanly from the top when the terminal is resized', async () => {
    const t = await TmuxSession.start({ command, cwd: repo, columns: 120, rows: 40, name: 'control-room-resize' });
    await t.waitFor('EMERGENCY STOP', { timeoutMs: 30_000 });
    await t.resize(90, 30);
    const screen = await t.waitFor(/^ GAMEDAY .*\n[\s\S]*EMERGENCY STOP/);
    const lines = screen.split('\n');
    expect(lines.length).toBeLessThan(30);
    expect(Math.max(...lines.map((l) => [...l].length))).toBeLessThanOrEqual(90);
    expect(lines.filter((l) => l.includes('GAMEDAY'))).toHaveLength(1);
    await t.sendKeys('x');
    await t.waitFor('EMERGENCY STOP — rolled back');
    await t.sendKeys('q');
    expect((await t.waitForExit()).status).toBe(5);
  });
});
