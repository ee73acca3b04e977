// The tmux harness itself: argv without a shell, exit status and signal, cleanup.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { TmuxSession, killAllTmuxSessions, processAlive, tmuxAvailable } from './tmux-harness.ts';

// Never skipped: without tmux these tests fail loudly (CI installs it).
beforeAll(async () => {
  expect(await tmuxAvailable(), 'tmux is required for the terminal end-to-end tests (apt-get install tmux)').toBe(true);
});
afterEach(async () => {
  await killAllTmuxSessions();
});

const node = process.execPath;

describe.runIf(process.platform !== 'win32')('tmux harness', () => {
  it('passes arguments verbatim (no shell) and reports the exit status', async () => {
    const tricky = '$(echo injected) `id` "quoted" ; exit 9';
    const t = await TmuxSession.start({
      command: [node, '-e', 'console.log("arg=" + process.argv[1]); console.log("env=" + process.env.GD_TEST); process.exit(3)', tricky],
      env: { GD_TEST: 'a b;c' },
      columns: 100,
      rows: 20,
    });
    const exit = await t.waitForExit();
    expect(exit.status).toBe(3);
    expect(exit.signal).toBeNull();
    expect(exit.screen).toContain(`arg=${tricky}`);
    expect(exit.screen).toContain('env=a b;c');
  });

  it('reports a program killed by a signal', async () => {
    const t = await TmuxSession.start({ command: [node, '-e', 'process.kill(process.pid, "SIGTERM")'] });
    const exit = await t.waitForExit();
    expect(exit.status).toBeNull();
    expect(exit.signal).toBe(15);
  });

  it('sends keys, types literally, waits for text and sizes the pane', async () => {
    const script = [
      'process.stdin.setRawMode(true);',
      'console.log("size " + process.stdout.columns + "x" + process.stdout.rows + " ready");',
      'process.stdin.on("data", (d) => { const s = d.toString(); if (s === "\\r") process.exit(0); process.stdout.write("[" + JSON.stringify(s) + "]"); });',
    ].join('');
    const t = await TmuxSession.start({ command: [node, '-e', script], columns: 77, rows: 13 });
    await t.waitFor('size 77x13 ready');
    await t.type('a;b');
    await t.waitFor('["a;b"]');
    await t.sendKeys('C-c');
    await t.waitFor('["\\u0003"]');
    await t.sendKeys('Enter');
    expect((await t.waitForExit()).status).toBe(0);
  });

  it('kill() ends the program, the server and the temp dir, and can be called twice', async () => {
    const t = await TmuxSession.start({ command: [node, '-e', 'process.on("SIGHUP", () => {}); setInterval(() => {}, 1000)'] });
    await t.waitFor('');
    const pid = await t.pid();
    expect(pid).not.toBeNull();
    await t.kill(200);
    await t.kill();
    expect(processAlive(pid!)).toBe(false);
    expect(existsSync(t.socket)).toBe(false);
  });

  it('times out with the screen in the error', async () => {
    const t = await TmuxSession.start({ command: [node, '-e', 'console.log("hello"); setInterval(() => {}, 1000)'] });
    await t.waitFor('hello');
    await expect(t.waitFor('never', { timeoutMs: 200 })).rejects.toThrow(/hello/);
  });
});
