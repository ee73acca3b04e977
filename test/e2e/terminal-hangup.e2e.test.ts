// Closing the terminal under `gameday run` (tmux, 120×40): SIGHUP rolls the fault back and the run
// exits 5, not with Node 20's abort when it restores the termios of the hung-up terminal.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readJournal } from '../../src/headless/journal.ts';
import { BIN, ROOT, runCli, tempDir, writeFile } from '../helpers/cli.ts';
import { TmuxSession, killAllTmuxSessions, tmuxAvailable } from './tmux-harness.ts';

beforeAll(async () => {
  expect(await tmuxAvailable(), 'tmux is required for the terminal end-to-end tests (apt-get install tmux)').toBe(true);
});
afterEach(async () => {
  await killAllTmuxSessions();
});

/** Processes whose command line names the state dir: gameday itself, a watchdog. */
async function processesOf(stateDir: string): Promise<string[]> {
  const { stdout } = await execa('ps', ['-Ao', 'pid=,args='], { reject: false });
  return stdout.split('\n').filter((line) => line.includes(stateDir) && !/\bps -Ao\b/.test(line));
}

describe.runIf(process.platform !== 'win32')('closing the terminal during a run', () => {
  // stderr on the terminal as a person has it; or in a file, where anything printed after the
  // terminal went (Node's "Assertion failed" abort included) can still be read
  it.each(['file', 'terminal'] as const)(
    'rolls back on SIGHUP and exits 5 (stderr to the %s)',
    async (stderrTo) => {
      const dir = tempDir();
      const stateDir = join(dir, 'state');
      const stderrFile = join(dir, 'stderr');
      // A gentle fault (the SLOs hold) so the experiment is still observing when the terminal goes.
      const file = writeFile(
        dir,
        'hangup.yaml',
        `name: hangup
traffic: { rps: 100 }
fault: { type: latency, latency: 20ms, probability: 0.2 }
schedule: { baseline: 2s, duration: 120s }
`,
      );
      const gameday = [process.execPath, BIN, 'run', '--state-dir', stateDir, '--metrics-port', '0', '--experiment', file];
      const command = stderrTo === 'file' ? ['sh', '-c', 'f=$1; shift; exec "$@" 2>"$f"', 'sh', stderrFile, ...gameday] : gameday;
      const t = await TmuxSession.start({ command, cwd: ROOT, columns: 120, rows: 40, name: 'gameday-hangup' });
      await t.waitFor(/OBSERV/, { timeoutMs: 12_000 });

      await t.hangUp();
      const exit = await t.waitForExit({ timeoutMs: 8_000 });
      const stderr = stderrTo === 'file' ? readFileSync(stderrFile, 'utf8') : '';
      expect(stderr).not.toMatch(/Assertion failed|ResetStdio/);
      // 134 (SIGABRT) was Node's abort; 0 was the run ending before its summary once the face was gone
      expect({ status: exit.status, signal: exit.signal }, stderr).toEqual({ status: 5, signal: null });

      const journals = readdirSync(join(stateDir, 'journals'));
      expect(journals).toHaveLength(1);
      const journal = await readJournal(join(stateDir, 'journals', journals[0]));
      expect(journal.summary).toMatchObject({ status: 'stopped', exitCode: 5, trigger: 'signal', faultRemoved: true });
      expect(journal.summary?.reason).toMatch(/SIGHUP/);
      expect(journal.events).toContainEqual(expect.objectContaining({ type: 'rollback', step: 'remove-fault', result: 'ok' }));

      const status = await runCli(['budget-status', '--json', '--state-dir', stateDir], { timeoutMs: 5_000 });
      expect(status.code, status.stderr).toBe(0);
      const ledger = JSON.parse(status.stdout);
      expect(ledger.running).toEqual([]);
      expect(ledger.experiments).toMatchObject([{ name: 'hangup', status: 'stopped' }]);
      expect(await processesOf(stateDir)).toEqual([]);
    },
    30_000,
  );
});
