// The team ledger's URL as a hostile or careless user hands it in: a wrong scheme, garbage, a
// password full of quotes, a server that is not there. Each is a clear error naming where the URL
// came from, with the password never shown, and nothing touched: no state-dir ledger, no fault.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../helpers/monitoring.ts';
import { runCli, tempDir, writeFile } from '../helpers/cli.ts';
import { commandFaultExperiment } from '../helpers/experiments.ts';

const PASSWORD = `pa"ss'w@rd:x`;
const noStack = /\n\s+at /;

describe('a bad ledger URL: exit 1, named by where it came from, nothing touched', () => {
  it('--ledger with another scheme, on any command', async () => {
    const state = join(tempDir(), 'state');
    for (const cmd of [['budget-status'], ['recover'], ['emergency-stop'], ['run', '--headless']]) {
      const r = await runCli([...cmd, '--ledger', 'mysql://root@127.0.0.1/db', '--state-dir', state], { timeoutMs: 30_000 });
      expect(r.code, `${cmd.join(' ')}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toContain('--ledger: expected a postgres:// or postgresql:// URL');
      expect(r.stderr).not.toMatch(noStack);
    }
    expect(existsSync(state)).toBe(false);
  });

  it('GAMEDAY_LEDGER_URL that does not parse, and ledger.url in a config file', async () => {
    const dir = tempDir();
    const state = join(dir, 'state');
    const env = await runCli(['budget-status', '--state-dir', state], {
      env: { GAMEDAY_LEDGER_URL: 'postgres://u:a b@[::1' },
      timeoutMs: 30_000,
    });
    expect(env.code, env.stderr).toBe(1);
    expect(env.stderr).toContain('GAMEDAY_LEDGER_URL: not a valid URL');
    const config = writeFile(dir, 'config.yaml', 'ledger: { url: "http://127.0.0.1:5432/db" }\n');
    const file = await runCli(['run', '--headless', '--config', config, '--state-dir', state], { timeoutMs: 30_000 });
    expect(file.code, file.stderr).toBe(1);
    expect(file.stderr).toContain('ledger.url: expected a postgres:// or postgresql:// URL');
    expect(existsSync(state)).toBe(false);
  });
});

describe('a ledger server that is not there: fail closed', () => {
  it('run refuses (exit 2) before injecting, naming the server but not the password; budget-status exits 1', async () => {
    const dir = tempDir();
    const state = join(dir, 'state');
    const url = `postgres://gameday:${encodeURIComponent(PASSWORD)}@127.0.0.1:${await freePort()}/gameday`;
    const { file, marker } = commandFaultExperiment({ dir, name: 'never', targetUrl: 'http://127.0.0.1:9' });
    const run = await runCli(['run', '--experiment', file, '--headless', '--metrics-port', '0', '--state-dir', state, '--ledger', url], {
      timeoutMs: 60_000,
    });
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toMatch(
      /refusing to run: budget ledger postgres:\/\/(gameday|\*\*\*)@127\.0\.0\.1:\d+\/gameday: .*reachable at 127\.0\.0\.1:\d+/,
    );
    for (const secret of [PASSWORD, encodeURIComponent(PASSWORD), 'w@rd']) {
      expect(run.stderr).not.toContain(secret);
      expect(run.stdout).not.toContain(secret);
    }
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(join(state, 'ledger.sqlite'))).toBe(false);

    const status = await runCli(['budget-status', '--state-dir', state], { env: { GAMEDAY_LEDGER_URL: url }, timeoutMs: 60_000 });
    expect(status.code, status.stderr).toBe(1);
    expect(status.stderr).toContain('reachable at 127.0.0.1');
    expect(status.stderr).not.toContain('w@rd');
    expect(status.stderr).not.toMatch(noStack);
  });
});
