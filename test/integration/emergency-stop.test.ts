// gameday emergency-stop against real controller processes: signal, latch, wait, report, clear.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { Ledger, StopLatchedError } from '../../src/budget/sqlite-ledger.ts';
import { ledgerTarget } from '../../src/budget/open-ledger.ts';
import { emergencyStopCommand } from '../../src/commands/emergency-stop.ts';
import { spawnLedgerChild, type LedgerChild } from '../helpers/ledger-child-process.ts';

const dirs: string[] = [];
const children: LedgerChild[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) {
    c.proc.kill('SIGKILL');
    await c.exited;
  }
});
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const stateDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'gameday-estop-'));
  dirs.push(d);
  return d;
};

const controller = (dir: string, name: string, ...extra: string[]) => {
  const c = spawnLedgerChild(['stop', dir, name, ...extra]);
  children.push(c);
  return c;
};

const capture = () => {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d) => (text += d));
  return { stream, text: () => text };
};

describe('emergency-stop', () => {
  it('stops every running controller within a second, latches, and --clear lets experiments start again', async () => {
    const dir = stateDir();
    const names = ['checkout-latency', 'search-errors', 'cart-blackhole'];
    const procs = names.map((n) => controller(dir, n));
    const ids = await Promise.all(procs.map(async (c) => (await c.line('ready')).split(' ')[1]));

    const out = capture();
    const startedMs = Date.now();
    const code = await emergencyStopCommand({
      ledger: ledgerTarget(dir, undefined),
      clear: false,
      timeoutMs: 5_000,
      out: out.stream,
      err: out.stream,
    });
    const tookMs = Date.now() - startedMs;

    expect(code).toBe(0);
    expect(tookMs).toBeLessThan(1_000);
    for (const [i, id] of ids.entries()) expect(out.text()).toMatch(new RegExp(`stopped +${id} +${names[i]}.*rolled back`));
    expect(out.text()).toContain('signalled 3 of 3');
    expect((await Promise.all(procs.map((c) => c.exited))).map((e) => e.code)).toEqual([5, 5, 5]);

    const ledger = Ledger.open(dir);
    try {
      expect(ledger.stopLatch().latched).toBe(true);
      for (const id of ids) expect(ledger.experiment(id)).toMatchObject({ status: 'stopped' });
      expect(() => ledger.registerExperiment({ name: 'late', experimentCapUsd: 1, dailyCapUsd: 1, costPerRequestUsd: 0.001 })).toThrow(
        StopLatchedError,
      );

      const cleared = capture();
      expect(await emergencyStopCommand({ ledger: ledgerTarget(dir, undefined), clear: true, out: cleared.stream })).toBe(0);
      expect(cleared.text()).toContain('cleared');
      expect(ledger.stopLatch()).toEqual({ latched: false });
      expect(ledger.registerExperiment({ name: 'after', experimentCapUsd: 1, dailyCapUsd: 1, costPerRequestUsd: 0.001 }).id).toBeTruthy();
    } finally {
      ledger.close();
    }
  });

  it('names a controller that does not report, and exits 6', async () => {
    const dir = stateDir();
    const good = controller(dir, 'obedient');
    const deaf = controller(dir, 'deaf-controller', 'ignore');
    const goodId = (await good.line('ready')).split(' ')[1];
    const deafId = (await deaf.line('ready')).split(' ')[1];

    const out = capture();
    const code = await emergencyStopCommand({
      ledger: ledgerTarget(dir, undefined),
      clear: false,
      timeoutMs: 600,
      out: out.stream,
      err: out.stream,
    });

    expect(code).toBe(6);
    expect(out.text()).toMatch(new RegExp(`stopped +${goodId} +obedient`));
    expect(out.text()).toMatch(new RegExp(`NOT STOPPED +${deafId} +deaf-controller.*did not report within 0.6 s`));
    expect((await good.exited).code).toBe(5);
  });

  it('a controller that misses the signal stops on the latch it reads each tick', async () => {
    const dir = stateDir();
    const c = controller(dir, 'remote-ish', 'latch-only');
    const id = (await c.line('ready')).split(' ')[1];
    const out = capture();
    expect(
      await emergencyStopCommand({
        ledger: ledgerTarget(dir, undefined),
        clear: false,
        timeoutMs: 5_000,
        out: out.stream,
        err: out.stream,
      }),
    ).toBe(0);
    expect(out.text()).toMatch(new RegExp(`stopped +${id} +remote-ish`));
    expect((await c.exited).code).toBe(5);
  });

  it('reports a controller that died without reporting, and one with nothing running is a no-op', async () => {
    const dir = stateDir();
    const empty = capture();
    expect(await emergencyStopCommand({ ledger: ledgerTarget(dir, undefined), clear: false, out: empty.stream })).toBe(0);
    expect(empty.text()).toContain('no running experiments');
    await emergencyStopCommand({ ledger: ledgerTarget(dir, undefined), clear: true, out: empty.stream });

    const doomed = controller(dir, 'doomed');
    const id = (await doomed.line('ready')).split(' ')[1];
    doomed.proc.kill('SIGKILL');
    await doomed.exited;
    const out = capture();
    expect(
      await emergencyStopCommand({
        ledger: ledgerTarget(dir, undefined),
        clear: false,
        timeoutMs: 2_000,
        out: out.stream,
        err: out.stream,
      }),
    ).toBe(6);
    expect(out.text()).toMatch(new RegExp(`NOT STOPPED +${id} +doomed.*exited without reporting.*gameday recover`));
  });
});
