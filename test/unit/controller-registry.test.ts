// The state dir's list of this machine's controllers (emergency-stop's head start), against real
// processes: only a live controller of the same ledger, started when it registered, is signalled.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ledgerIdentity,
  processStartTicks,
  registerController,
  signalRegisteredControllers,
} from '../../src/budget/controller-registry.ts';
import { tempDir } from '../helpers/cli.ts';

const linux = existsSync('/proc/self/stat');
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

function sleeper(): ChildProcess & { pid: number } {
  const c = spawn('sleep', ['30'], { stdio: 'ignore' });
  children.push(c);
  return c as ChildProcess & { pid: number };
}

describe.runIf(linux)('controller registry', () => {
  it("reads a process's start time, and none for a pid that is not running", () => {
    expect(processStartTicks(process.pid)).toMatch(/^\d+$/);
    expect(processStartTicks(2 ** 22 + 7)).toBeNull();
  });

  it('signals a registered controller of the same ledger, and removes its record when it is unregistered', () => {
    const dir = tempDir('gameday-registry-');
    const ledger = ledgerIdentity(dir, null);
    const c = sleeper();
    const unregister = registerController(dir, ledger, c.pid);
    const kills: [number, string][] = [];
    expect(signalRegisteredControllers(dir, ledger, 'SIGUSR2', (pid, sig) => kills.push([pid, sig]))).toEqual([c.pid]);
    expect(kills).toEqual([[c.pid, 'SIGUSR2']]);
    unregister();
    unregister();
    expect(readdirSync(join(dir, 'controllers'))).toEqual([]);
    expect(signalRegisteredControllers(dir, ledger, 'SIGUSR2', () => kills.push([0, '']))).toEqual([]);
  });

  it('never signals a controller of another ledger', () => {
    const dir = tempDir('gameday-registry-');
    const c = sleeper();
    registerController(dir, ledgerIdentity(dir, 'postgres://gameday:s3cret@db.example/gameday'), c.pid);
    const kills: number[] = [];
    expect(signalRegisteredControllers(dir, ledgerIdentity(dir, null), 'SIGUSR2', (pid) => kills.push(pid))).toEqual([]);
    expect(signalRegisteredControllers(dir, ledgerIdentity(dir, 'postgres://other/gameday'), 'SIGUSR2', (pid) => kills.push(pid))).toEqual(
      [],
    );
    expect(kills).toEqual([]);
    // the record names the ledger by a hash: the password is not written to the state dir
    expect(readdirSync(join(dir, 'controllers'))).toEqual([`${c.pid}.json`]);
    expect(readFileSync(join(dir, 'controllers', `${c.pid}.json`), 'utf8')).not.toContain('s3cret');
  });

  it('never signals a pid whose process started at another time (a reused pid), and drops the stale record', () => {
    const dir = tempDir('gameday-registry-');
    const ledger = ledgerIdentity(dir, null);
    const c = sleeper();
    registerController(dir, ledger, c.pid);
    const file = join(dir, 'controllers', `${c.pid}.json`);
    writeFileSync(file, JSON.stringify({ pid: c.pid, startTicks: '1', ledger }));
    const kills: number[] = [];
    expect(signalRegisteredControllers(dir, ledger, 'SIGUSR2', (pid) => kills.push(pid))).toEqual([]);
    expect(kills).toEqual([]);
    expect(existsSync(file)).toBe(false);
  });

  it('ignores records that are not its own (garbage, pid 1, a name that is not the pid)', () => {
    const dir = tempDir('gameday-registry-');
    const ledger = ledgerIdentity(dir, null);
    const c = sleeper();
    registerController(dir, ledger, c.pid);
    const ticks = processStartTicks(c.pid);
    writeFileSync(join(dir, 'controllers', '1.json'), JSON.stringify({ pid: 1, startTicks: processStartTicks(1), ledger }));
    writeFileSync(join(dir, 'controllers', '12.json'), JSON.stringify({ pid: c.pid, startTicks: ticks, ledger }));
    writeFileSync(join(dir, 'controllers', '13.json'), '{not json');
    const kills: number[] = [];
    expect(signalRegisteredControllers(dir, ledger, 'SIGUSR2', (pid) => kills.push(pid))).toEqual([c.pid]);
    expect(kills).toEqual([c.pid]);
  });

  it('a state dir with no records, or none at all, signals nobody', () => {
    const dir = tempDir('gameday-registry-');
    expect(signalRegisteredControllers(join(dir, 'missing'), ledgerIdentity(dir, null), 'SIGUSR2')).toEqual([]);
  });
});
