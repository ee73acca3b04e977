// The journal through the real CLI: a bad --journal is refused before anything is spent, the journal
// is on disk while the run goes (so a killed controller leaves one that `report` renders), and
// `report` answers a broken journal with exit 1, not a stack trace.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Ledger } from '../../src/budget/sqlite-ledger.ts';
import { runCli, spawnCli, summaryOf, tempDir, writeFile } from '../helpers/cli.ts';
import { useCountingTarget } from '../helpers/target.ts';

const counting = useCountingTarget();
const headless = (state: string) => ['--headless', '--output', 'json', '--metrics-port', '0', '--state-dir', state];

/** A gentle fault (the SLOs hold): the run passes and spends. */
function experiment(dir: string, duration = '1s'): string {
  return writeFile(
    dir,
    'gentle.yaml',
    `name: gentle\ntarget: { url: "${counting().url}" }\ntraffic: { rps: 40 }\nfault: { type: latency, latency: 1ms, probability: 0.1 }\nschedule: { baseline: 1s, duration: ${duration}, recoveryWindow: 1s }\n`,
  );
}

async function budgetStatus(state: string) {
  const r = await runCli(['budget-status', '--json', '--state-dir', state]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { day: { spentUsd: number }; experiments: unknown[] };
}

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('--journal is checked before the fault goes in', () => {
  it('--journal <state-dir>/ledger.sqlite is refused (exit 1): the ledger and its day of spend are intact', async () => {
    const dir = tempDir();
    const state = join(dir, 'state');
    const file = experiment(dir);
    const first = await runCli(['run', '--experiment', file, ...headless(state)]);
    expect(first.code, first.stderr).toBe(0);
    const before = await budgetStatus(state);
    expect(before.day.spentUsd).toBeGreaterThan(0);
    const ledger = join(state, 'ledger.sqlite');
    const hash = sha(ledger);
    const sent = counting().count();

    for (const journal of [ledger, `${ledger}-wal`, join(state, 'journals', '..', 'ledger.sqlite')]) {
      const r = await runCli(['run', '--experiment', file, ...headless(state), '--journal', journal]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/--journal:[^]*is the ledger/);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    expect(counting().count()).toBe(sent);
    expect(sha(ledger)).toBe(hash);
    const after = await budgetStatus(state);
    expect(after.day.spentUsd).toBe(before.day.spentUsd);
    expect(after.experiments).toHaveLength(before.experiments.length);
  });

  it('an unwritable journal path is exit 1 with nothing spent, no ledger created and no temp file left', async () => {
    const dir = tempDir();
    const state = join(dir, 'state');
    const file = experiment(dir);
    const sent = counting().count();
    const cases: [string, RegExp][] = [
      [join(dir, 'missing', 'j.json'), /directory of .* does not exist/],
      [join(file, 'j.json'), /cannot be used \(ENOTDIR|is not a directory/],
      [dir, /is a directory/],
      ['/dev/null', /not a regular file/],
    ];
    for (const [journal, message] of cases) {
      const r = await runCli(['run', '--experiment', file, ...headless(state), '--journal', journal]);
      expect(r.code, `${journal}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toMatch(/^--journal:/);
      expect(r.stderr).toMatch(message);
    }
    expect(counting().count()).toBe(sent);
    expect(existsSync(state)).toBe(false);
    expect(readdirSync(dir).sort()).toEqual(['gentle.yaml']);
  });

  it('an existing file that is not a journal (an SQLite file, a note) is refused, not overwritten', async () => {
    const dir = tempDir();
    const state = join(dir, 'state');
    const file = experiment(dir);
    const other = join(dir, 'other');
    Ledger.open(other).close();
    const foreign = join(other, 'ledger.sqlite');
    const hash = sha(foreign);
    const notes = writeFile(dir, 'notes.txt', 'do not lose me\n');
    for (const journal of [foreign, notes]) {
      const r = await runCli(['run', '--experiment', file, ...headless(state), '--journal', journal]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/refusing to overwrite it/);
    }
    expect(sha(foreign)).toBe(hash);
    expect(readFileSync(notes, 'utf8')).toBe('do not lose me\n');
    expect(existsSync(state)).toBe(false);
  });
});

describe('the journal is streamed to disk', () => {
  it('a controller killed with SIGKILL leaves a journal that report renders: the events so far, "did not finish"', async () => {
    const dir = tempDir();
    const state = join(dir, 'state');
    const journal = join(dir, 'killed.json');
    const run = spawnCli(['run', '--experiment', experiment(dir, '60s'), ...headless(state), '--journal', journal]);
    await run.waitForEvent((e) => e.type === 'phase' && e.phase === 'observe');
    await run.waitForEvent((e) => e.type === 'tick' && e.phase === 'observe');
    // on disk while the run goes: the header, then one event a line
    const lines = readFileSync(journal, 'utf8').split('\n');
    expect(JSON.parse(lines[0])).toMatchObject({ journal: 'gameday', version: 2, name: 'gentle' });
    expect(lines.some((l) => l.includes('"phase":"observe"'))).toBe(true);
    run.child.kill('SIGKILL');
    await run.done;

    const r = await runCli(['report', journal]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('# Game day report: gentle');
    expect(r.stdout).toContain('the run did not finish');
    expect(r.stdout).toMatch(/steady state holds/);
    expect(r.stdout).toMatch(/observe — for /);
    expect(r.stdout).toContain('## SLIs at the worst moment');
  });

  it('a journal removed mid-run does not stop the run; the summary names no journal and stderr says why', async () => {
    const dir = tempDir();
    const state = join(dir, 'state');
    const journal = join(dir, 'j.json');
    const run = spawnCli(['run', '--experiment', experiment(dir, '2s'), ...headless(state), '--journal', journal]);
    await run.waitForEvent((e) => e.type === 'phase' && e.phase === 'observe');
    rmSync(journal, { force: true });
    const r = await run.done;
    expect(r.code, r.stderr).toBe(0);
    expect(summaryOf(r).journalPath).toBeNull();
    expect(r.stderr).toMatch(/journal .*j\.json was removed or replaced during the run/);
    expect(existsSync(journal)).toBe(false);
  });

  it('a finished run: the summary is the last line and names the journal; report renders it', async () => {
    const dir = tempDir();
    const state = join(dir, 'state');
    const r = await runCli(['run', '--experiment', experiment(dir), ...headless(state)]);
    expect(r.code, r.stderr).toBe(0);
    const s = summaryOf(r);
    expect(s.journalPath).toBe(join(state, 'journals', `${s.experimentId}.json`));
    expect(statSync(join(state, 'journals')).mode & 0o777).toBe(0o700);
    expect(statSync(s.journalPath!).mode & 0o777).toBe(0o600);
    const lines = readFileSync(s.journalPath!, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ journal: 'gameday', version: 2, experimentId: s.experimentId });
    expect(lines.at(-1)).toEqual(s);
    const report = await runCli(['report', s.journalPath!]);
    expect(report.code, report.stderr).toBe(0);
    expect(report.stdout).toContain('**passed** (exit 0)');
  });
});

describe('report refuses what is not a journal (exit 1, no stack trace)', () => {
  it.each([
    ['{"version":1,"events":[]}', /experimentId: required/],
    ['{"version":1,"experimentId":"a","name":"n","startedAt":"s","plan":{},"summary":null,"events":[null]}', /events\.0: /],
    [
      '{"version":1,"experimentId":"a","name":"n","startedAt":"s","plan":{},"events":[],"summary":{"spentUsd":"3"}}',
      /summary\.spentUsd: .*expected number/,
    ],
  ])('%s', async (text, message) => {
    const path = join(tempDir(), 'bad.json');
    writeFileSync(path, text);
    const r = await runCli(['report', path]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at |internal error/);
  });

  it('report /dev/zero exits 1 quickly instead of growing', async () => {
    const started = performance.now();
    const r = await runCli(['report', '/dev/zero'], { timeoutMs: 20_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/longer than 4 MiB/);
    expect(performance.now() - started).toBeLessThan(10_000);
  });
});
