// Out-of-range input is exit 1 at load, named by the flag, variable or field, with nothing touched:
// not even the state dir (no ledger.sqlite). Issue 7: these ran and failed at run time, or crashed V8.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../helpers/cli.ts';

const freshStateDir = () => join(tempDir(), 'state');

describe('bounds at load: exit 1, nothing touched', () => {
  it('--budget below the micro-dollar floor and --rps over 100000', async () => {
    const state = freshStateDir();
    const r = await runCli(
      ['run', '--experiment-type', 'latency', '--budget', '0.0000001', '--rps', '1e9', '--headless', '--state-dir', state],
      { timeoutMs: 30_000 },
    );
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('--budget: at least $0.000001');
    expect(r.stderr).toContain('--rps: at most 100000');
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(existsSync(join(state, 'ledger.sqlite'))).toBe(false);
    expect(existsSync(state)).toBe(false);
  });

  it('a cost per request in the environment that is not a whole micro-dollar', async () => {
    const state = freshStateDir();
    const r = await runCli(['run', '--experiment-type', 'latency', '--headless', '--state-dir', state], {
      env: { GAMEDAY_COST_PER_REQUEST_USD: '0.0000014' },
      timeoutMs: 30_000,
    });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('GAMEDAY_COST_PER_REQUEST_USD: must be a whole number of micro-dollars');
    expect(existsSync(state)).toBe(false);
  });

  it('validate /dev/zero is refused at once, unread', async () => {
    const r = await runCli(['validate', '/dev/zero'], { timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('/dev/zero');
    expect(r.stderr).toContain('not a regular file');
  });
});
