// The command fault driver and runCommand with real child processes (node -e), never a shell.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CommandFaultDriver, runCommand } from '../../src/faults/command-driver.ts';

const node = process.execPath;
const dir = mkdtempSync(join(tmpdir(), 'gameday-command-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// With `node -e CODE ARG`, process.argv[1] is ARG.
const writeMarker = (file: string) => [node, '-e', "require('fs').writeFileSync(process.argv[1], 'fault in')", file];
const removeMarker = (file: string) => [node, '-e', "require('fs').rmSync(process.argv[1])", file];
const failing = (message: string, code = 3) => [node, '-e', `console.error(${JSON.stringify(message)}); process.exit(${code})`];

describe('runCommand', () => {
  it('reports exit code, output and duration', async () => {
    const r = await runCommand([node, '-e', "console.log('out'); console.error('err'); process.exit(4)"], { timeoutMs: 10_000 });
    expect(r).toMatchObject({ exitCode: 4, stdout: 'out', stderr: 'err', timedOut: false });
    expect(r.failure).toBeUndefined();
    expect(r.durationMs).toBeGreaterThan(0);
  });

  it('passes arguments literally (no shell) and adds env', async () => {
    const r = await runCommand([node, '-e', 'console.log(process.argv[1], process.env.GAMEDAY_TEST)', '$(echo hi); *'], {
      timeoutMs: 10_000,
      env: { GAMEDAY_TEST: 'yes' },
    });
    expect(r.stdout).toBe('$(echo hi); * yes');
  });

  it('kills a command that outlives its timeout', async () => {
    const t0 = performance.now();
    const r = await runCommand([node, '-e', 'setTimeout(() => {}, 20000)'], { timeoutMs: 300 });
    expect(r.timedOut).toBe(true);
    expect(r.exitCode).toBe(-1);
    expect(r.failure).toMatch(/timed out after 300ms/);
    expect(performance.now() - t0).toBeLessThan(5_000);
  });

  it('reports a missing program instead of throwing', async () => {
    const r = await runCommand(['gameday-no-such-program-xyz'], { timeoutMs: 5_000 });
    expect(r.exitCode).toBe(-1);
    expect(r.failure).toMatch(/ENOENT/);
  });
});

describe('CommandFaultDriver', () => {
  it('injects and restores with real commands; remove is idempotent', async () => {
    const marker = join(dir, 'fault-1');
    const driver = new CommandFaultDriver({ inject: writeMarker(marker), restore: removeMarker(marker), timeoutMs: 10_000 });
    expect(driver.label).toContain('command:');

    await driver.inject();
    expect(existsSync(marker)).toBe(true);
    await driver.remove();
    expect(existsSync(marker)).toBe(false);

    // a second remove does not run restore again (it would fail: the marker is gone)
    await driver.remove();

    await driver.pause?.(); // already out
    await driver.resume?.();
    expect(existsSync(marker)).toBe(true);
    await driver.pause?.();
    expect(existsSync(marker)).toBe(false);
    await driver.close();
  });

  it('a remove that arrives while inject is still running restores after it, so the fault does not stay in', async () => {
    const marker = join(dir, 'fault-slow');
    const slowInject = [node, '-e', "setTimeout(() => require('fs').writeFileSync(process.argv[1], 'fault in'), 300)", marker];
    const driver = new CommandFaultDriver({
      inject: slowInject,
      restore: [node, '-e', "require('fs').rmSync(process.argv[1], { force: true })", marker],
      timeoutMs: 10_000,
    });
    const injecting = driver.inject();
    await driver.remove(); // an emergency stop during inject
    await injecting;
    expect(existsSync(marker)).toBe(false);
  });

  it('does nothing on remove when inject was never attempted', async () => {
    const driver = new CommandFaultDriver({ inject: failing('never run'), restore: failing('must not run'), timeoutMs: 10_000 });
    await expect(driver.remove()).resolves.toBeUndefined();
  });

  it('a failed inject throws, and remove still restores (it may have half-applied)', async () => {
    const marker = join(dir, 'fault-2');
    writeFileSync(marker, 'half applied');
    const driver = new CommandFaultDriver({ inject: failing('inject broke'), restore: removeMarker(marker), timeoutMs: 10_000 });
    await expect(driver.inject()).rejects.toThrow(/inject .*failed \(exit 3\): inject broke/);
    await driver.remove();
    expect(existsSync(marker)).toBe(false);
  });

  it('a failed restore throws with the stderr tail, and is tried again on the next remove', async () => {
    const marker = join(dir, 'fault-3');
    const driver = new CommandFaultDriver({ inject: writeMarker(marker), restore: failing('boom: cannot restore', 2), timeoutMs: 10_000 });
    await driver.inject();
    await expect(driver.remove()).rejects.toThrow(/restore .*failed \(exit 2\): boom: cannot restore/);
    await expect(driver.remove()).rejects.toThrow(/boom: cannot restore/);
  });

  it('a command that hangs past its timeout fails', async () => {
    const driver = new CommandFaultDriver({
      inject: [node, '-e', 'setTimeout(() => {}, 20000)'],
      restore: [node, '-e', ''],
      timeoutMs: 300,
    });
    const t0 = performance.now();
    await expect(driver.inject()).rejects.toThrow(/timed out after 300ms/);
    expect(performance.now() - t0).toBeLessThan(5_000);
    await driver.remove();
  });
});
