// Every command's user-facing failures go through cli.ts's one mapping: the message (no stack trace)
// and the command's exit code. A state dir that is a regular file cannot hold a ledger.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, tempDir, writeFile } from '../helpers/cli.ts';

const STACK = /\n\s+at /;
const notADir = () => writeFile(tempDir(), 'state', 'not a directory\n');

describe('errors through the CLI: a message, no stack, the exit code', () => {
  it('run: a ledger that cannot be opened is a refusal, exit 2', async () => {
    const journal = join(tempDir(), 'j.json');
    const args = ['run', '--experiment-type', 'latency', '--headless', '--journal', journal, '--state-dir', notADir()];
    const r = await runCli(args, { timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/^gameday: refusing to run: budget ledger .*not a directory/);
    expect(r.stderr).not.toMatch(STACK);
  });

  it('emergency-stop and the watchdog: a ledger that cannot be opened is exit 1', async () => {
    for (const args of [['emergency-stop'], ['watchdog', '--experiment-id', 'e1']]) {
      const r = await runCli([...args, '--state-dir', notADir()], { timeoutMs: 30_000 });
      expect(r.code, `${args[0]}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toMatch(/^gameday: budget ledger .*not a directory/);
      expect(r.stderr).not.toMatch(STACK);
    }
  });

  it('validate and report: a missing file is exit 1, named', async () => {
    const missing = join(tempDir(), 'missing.yaml');
    for (const command of ['validate', 'report']) {
      const r = await runCli([command, missing], { timeoutMs: 30_000 });
      expect(r.code, `${command}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toContain(missing);
      expect(r.stderr).not.toMatch(STACK);
      expect(r.stderr).not.toMatch(/internal error/);
    }
  });

  it("commander's usage errors: exit 1", async () => {
    const r = await runCli(['run', '--no-such-flag'], { timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain("unknown option '--no-such-flag'");
  });
});
