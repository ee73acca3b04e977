// A pid file is read at preflight: pid 1 (init) is refused there, as gameday itself is. Only check()
// is called: nothing is ever signalled here.
import { describe, expect, it } from 'vitest';
import { ProcessKillDriver } from '../../src/faults/process-kill-driver.ts';
import { tempDir, writeFile } from '../helpers/cli.ts';

describe('process-kill preflight check of a pid file', () => {
  const driverFor = (pid: number) =>
    new ProcessKillDriver({ pidFile: writeFile(tempDir(), 'x.pid', `${pid}\n`), signal: 'SIGSTOP', timeoutMs: 1000 });

  it('refuses pid 1 (init)', () => {
    expect(() => driverFor(1).check()).toThrow('refusing to signal pid 1 (init)');
  });

  it('refuses gameday itself and its parent', () => {
    expect(() => driverFor(process.pid).check()).toThrow(/refusing to signal gameday itself/);
    expect(() => driverFor(process.ppid).check()).toThrow(/refusing to signal gameday itself/);
  });
});
