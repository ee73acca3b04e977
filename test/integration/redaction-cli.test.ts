// End to end through the real CLI: a URL password (and a token in the environment) never reach
// stdout, stderr, the journal, `report` or `budget-status`, whether the run is refused, fails to
// parse its input, or runs for real. Each case spawns a process; a handful of them keep this short.
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runCli, summaryOf, tempDir, writeFile, type CliResult } from '../helpers/cli.ts';
import { useCountingTarget } from '../helpers/target.ts';

const counting = useCountingTarget();

/** A port nothing listens on (taken from the kernel, then let go). */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** The secret, percent-encoded (as new URL() prints it) or JSON-escaped, or any 6 characters of it. */
function expectNowhere(texts: Record<string, string>, secret: string) {
  const forms = new Set([secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)]);
  for (const form of forms) {
    const chars = [...form];
    const pieces = chars.length <= 6 ? [form] : chars.slice(0, -5).map((_, i) => chars.slice(i, i + 6).join(''));
    for (const [where, text] of Object.entries(texts)) {
      for (const piece of pieces)
        if (text.includes(piece))
          expect.fail(`${JSON.stringify(piece)} of ${JSON.stringify(secret)} is in ${where}:\n${text.slice(0, 3000)}`);
    }
  }
}

const outputs = (r: CliResult) => ({ stdout: r.stdout, stderr: r.stderr });

// Passwords that broke the old pattern or parse badly: quotes, @, :, %, unicode, and / # ? \ space.
const PASSWORDS = ['p"a\'ss@w:rd%zz€`$x', 'sl/ash#fr?ag\\back', 'spa ce"@q'];

describe('secrets through the real CLI', () => {
  it('run --target with an unusable URL: exit 1, the password echoed nowhere', async () => {
    const state = tempDir();
    for (const pw of PASSWORDS) {
      const r = await runCli(['run', '--headless', '--target', `http://user:${pw}@127.0.0.1:99999`, '--state-dir', state]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain('--target');
      expectNowhere(outputs(r), pw);
    }
  });

  it('validate: the ok line, and commander echoing an unknown option', async () => {
    const dir = tempDir();
    const port = await deadPort();
    const pw = PASSWORDS[0];
    const file = writeFile(
      dir,
      'exp.yaml',
      `name: checkout\ntarget: { url: ${JSON.stringify(`http://user:${pw}@127.0.0.1:${port}`)} }\nfault: { type: latency, latency: 100ms }\n`,
    );
    const ok = await runCli(['validate', file]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain(`http://user:***@127.0.0.1:${port}`);
    const unknown = await runCli(['validate', file, `--target=http://user:${PASSWORDS[1]}@127.0.0.1:${port}`]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('unknown option');
    expectNowhere({ ...outputs(ok), ...Object.fromEntries(Object.entries(outputs(unknown)).map(([k, v]) => [`unknown ${k}`, v])) }, pw);
    expectNowhere(outputs(unknown), PASSWORDS[1]);
  });

  it('run against a dead target: refused (exit 2), the password in no preflight line', async () => {
    const pw = PASSWORDS[2]; // a space: parses (percent-encoded), so the run gets as far as preflight
    const r = await runCli([
      'run',
      '--headless',
      '--target',
      `http://user:${pw}@127.0.0.1:${await deadPort()}`,
      '--duration',
      '1s',
      '--metrics-port',
      '0',
      '--state-dir',
      tempDir(),
    ]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stdout).toContain('user:***@127.0.0.1');
    expectNowhere(outputs(r), pw);
  });

  it('a short run: not in NDJSON, the journal, report or budget-status; nor is a token in the name', async () => {
    const state = tempDir();
    const dir = tempDir();
    const pw = PASSWORDS[0];
    const token = 'tok-9f8e7d6c5b4a';
    const env = { MY_API_TOKEN: token };
    const target = counting().url.replace('http://', `http://user:${pw}@`);
    // the name holds the token, and an ESC that would clear the screen
    const file = writeFile(
      dir,
      'exp.yaml',
      `name: ${JSON.stringify(`deploy-${token}\u001b[2J`)}\ntraffic: { rps: 20, path: / }\nfault: { type: latency, latency: 5ms }\n` +
        'schedule: { warmup: 250ms, baseline: 2s, duration: 1s, recoveryWindow: 500ms }\nbudget: { budgetUsd: 5 }\nrollback: []\n',
    );
    const run = await runCli(
      [
        'run',
        '--experiment',
        file,
        '--target',
        target,
        '--output',
        'json',
        '--duration',
        '1s',
        '--rps',
        '20',
        '--metrics-port',
        '0',
        '--state-dir',
        state,
      ],
      { env },
    );
    expect(run.code, run.stderr).toBe(0);
    const summary = summaryOf(run);
    expect(summary.requests).toBeGreaterThan(0);
    expect(run.stdout).toContain('user:***@127.0.0.1');
    const journal = readFileSync(summary.journalPath!, 'utf8');

    const report = await runCli(['report', summary.journalPath!], { env });
    expect(report.code, report.stderr).toBe(0);
    expect(report.stdout).toContain('user:***@127.0.0.1');
    const status = await runCli(['budget-status', '--state-dir', state], { env });
    // without the variable too: what the ledger holds is redacted already
    const statusJson = await runCli(['budget-status', '--json', '--state-dir', state]);
    expect([status.code, statusJson.code]).toEqual([0, 0]);
    expect(JSON.parse(statusJson.stdout).experiments).toHaveLength(1);

    const everything = {
      'run stdout': run.stdout,
      'run stderr': run.stderr,
      journal,
      'report stdout': report.stdout,
      'report stderr': report.stderr,
      'budget-status': status.stdout + status.stderr,
      'budget-status --json': statusJson.stdout + statusJson.stderr,
    };
    expectNowhere(everything, pw);
    expectNowhere(everything, token);
    for (const text of [report.stdout, status.stdout, statusJson.stdout]) expect(text).not.toContain('\u001b[2J');
  });
});
