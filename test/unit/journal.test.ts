// The journal: checked before anything is spent, streamed to disk one event a line, read back with
// every line validated and memory bounded.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  existsSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { Ledger } from '../../src/budget/sqlite-ledger.ts';
import { ConfigError } from '../../src/config/errors.ts';
import type { GamedayEvent, Summary } from '../../src/engine/events.ts';
import { checkJournalPath, JOURNAL_MAX_BYTES, JOURNAL_VERSION, JournalWriter, readJournal } from '../../src/headless/journal.ts';
import { SummarySchema, type SameShape } from '../../src/headless/journal-schema.ts';
import { makeRedactor } from '../../src/headless/redact.ts';
import { renderReport } from '../../src/headless/report-markdown.ts';
import { ROOT, tempDir } from '../helpers/cli.ts';

const head = {
  experimentId: 'e1',
  name: 'exp',
  startedAt: '2026-01-01T00:00:00.000Z',
  plan: {
    targetUrl: 'http://127.0.0.1:1',
    fault: { type: 'latency' },
    traffic: { rps: 10 },
    slo: { p95LatencyMs: 500, errorRate: 0.01, availability: 0.99, healthFailures: 3 },
  },
};
const noRedact = (s: string) => s;

const slis = (p95: number) => ({ p95LatencyMs: p95, errorRate: 0, availability: 1, healthFailures: 0, samples: 40, throughputRps: 10 });
const budget = {
  costPerRequestUsd: 0.001,
  experimentSpentUsd: 0.1,
  experimentCapUsd: 50,
  daySpentUsd: 0.1,
  dayReservedUsd: 0,
  dayCapUsd: 500,
  requestsSent: 100,
  burnUsdPerMin: 0.6,
  timeToCapMs: null,
};
const tick = (ts: number, score: number, p95 = 10): GamedayEvent => ({
  type: 'tick',
  ts,
  phase: 'observe',
  slis: slis(p95),
  budget,
  impact: { score, band: 'low', driver: null, peak: score },
  faultActive: true,
  byOutcome: { ok: 100, error: 0, timeout: 0, reset: 0, refused: 0 },
  guards: [],
});
const summary: Summary = {
  status: 'passed',
  exitCode: 0,
  experiment: 'exp',
  experimentId: 'e1',
  spentUsd: 0.1,
  requests: 100,
  detectionMs: null,
  recoveryMs: 100,
  peakImpact: 40,
  trigger: 'duration',
  reason: 'duration reached; recovery verified',
  faultRemoved: true,
  recoveryVerified: true,
  durationMs: 5000,
  journalPath: '/j',
};
const events: GamedayEvent[] = [
  { type: 'phase', ts: 1000, phase: 'preflight' },
  { type: 'phase', ts: 1100, phase: 'observe', detail: 'for 1s' },
  tick(1200, 5),
  tick(1450, 40, 321),
  tick(1700, 12),
  { type: 'note', ts: 1800, text: 'looks fine', source: 'user' },
  { type: 'phase', ts: 1900, phase: 'done', detail: 'passed' },
  { type: 'summary', ts: 1901, ...summary },
];

function writeJournal(path: string, evs: GamedayEvent[] = events): JournalWriter {
  const w = JournalWriter.open(path, head, noRedact);
  for (const e of evs) w.record(e);
  return w;
}

async function refusal(path: string): Promise<string> {
  try {
    await readJournal(path);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems.join('\n');
  }
  throw new Error(`readJournal(${path}) accepted it`);
}

const lines = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('writing: NDJSON, append-only, streamed', () => {
  it('writes a header line, then each event as it happens, 0600', () => {
    const path = join(tempDir(), 'j.json');
    const w = JournalWriter.open(path, head, noRedact);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(lines(path)).toEqual([{ journal: 'gameday', version: JOURNAL_VERSION, ...head }]);
    w.record(events[0]);
    // on disk at once, not held until the end
    expect(lines(path)).toHaveLength(2);
    for (const e of events.slice(1)) w.record(e);
    expect(w.complete).toBe(true);
    expect(w.problem).toBeNull();
    expect(lines(path).slice(1)).toEqual(events);
  });

  it('makes an existing journal private (fchmod) and replaces it', () => {
    const path = join(tempDir(), 'j.json');
    writeJournal(path);
    chmodSync(path, 0o644);
    const w = JournalWriter.open(path, { ...head, experimentId: 'e2' }, noRedact);
    w.close();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(lines(path)).toEqual([{ journal: 'gameday', version: 2, ...head, experimentId: 'e2' }]);
  });

  it('redacts every line (header and events)', () => {
    const path = join(tempDir(), 'j.json');
    const w = JournalWriter.open(path, { ...head, plan: { rollback: [{ run: ['curl', 'tok"en-123'] }] } }, makeRedactor(['tok"en-123']));
    w.record({ type: 'error', ts: 1, message: 'failed with tok"en-123' });
    w.close();
    const text = readFileSync(path, 'utf8');
    expect(text).not.toContain('en-123');
    expect(lines(path)[1]).toEqual({ type: 'error', ts: 1, message: 'failed with ***' });
  });

  it('never overwrites a file that is not a journal, even if it appeared after the check', () => {
    const path = join(tempDir(), 'data.txt');
    writeFileSync(path, 'precious\n');
    const w = JournalWriter.open(path, head, noRedact);
    w.record(events[0]);
    expect(w.problem).toMatch(/could not be opened .*not a gameday journal/);
    expect(readFileSync(path, 'utf8')).toBe('precious\n');
  });

  it('a journal removed during the run is not whole, and says so', () => {
    const path = join(tempDir(), 'j.json');
    const w = writeJournal(path, events.slice(0, 3));
    unlinkSync(path);
    for (const e of events.slice(3)) w.record(e);
    expect(w.complete).toBe(false);
    expect(w.problem).toMatch(/was removed or replaced during the run/);
  });

  it('a write error mid-run (file too large) stops journaling without throwing; the lines before it stay readable', () => {
    const dir = tempDir();
    const path = join(dir, 'j.json');
    // RLIMIT_FSIZE 8 KiB: writes past it fail with EFBIG, as a full disk fails with ENOSPC
    const script = `
      import { JournalWriter } from ${JSON.stringify(join(ROOT, 'src/headless/journal.ts'))};
      const w = JournalWriter.open(${JSON.stringify(path)}, { experimentId: 'e1', name: 'n', startedAt: 's', plan: {} }, (s) => s);
      for (let i = 0; i < 500; i++) w.record({ type: 'note', ts: i, text: 'x'.repeat(100), source: 'engine' });
      w.record({ type: 'summary', ts: 999, ${JSON.stringify(summary).slice(1, -1)} });
      console.log(JSON.stringify({ problem: w.problem, complete: w.complete }));
    `;
    const r = spawnSync('sh', ['-c', `ulimit -f 8; exec "${process.execPath}" --import tsx --input-type=module -e "$0"`, script], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.complete).toBe(false);
    expect(out.problem).toMatch(/incomplete: writing it failed \(EFBIG/);
    expect(statSync(path).size).toBeLessThanOrEqual(8192);
    return readJournal(path).then((j) => {
      expect(j.summary).toBeNull();
      expect(j.events.length).toBeGreaterThan(10);
      expect(renderReport(j)).toContain('did not finish');
    });
  });
});

describe('reading', () => {
  it('keeps the non-tick events and the worst tick in its place, and the summary', async () => {
    const path = join(tempDir(), 'j.json');
    writeJournal(path);
    const j = await readJournal(path);
    expect(j).toMatchObject({ version: 2, ...head, summary });
    expect(j.events).toEqual(events.filter((e) => e.type !== 'tick' || e.ts === 1450));
    const report = renderReport(j);
    expect(report).toContain('| p95 latency | 321ms | 500ms |');
    expect(report).toContain('note: looks fine');
  });

  it('reads a version-1 journal (one JSON object), as older gamedays wrote it', async () => {
    const path = join(tempDir(), 'old.json');
    writeFileSync(path, JSON.stringify({ version: 1, ...head, events, summary }, null, 1) + '\n');
    const j = await readJournal(path);
    expect(j).toMatchObject({ version: 1, experimentId: 'e1', summary });
    expect(renderReport(j)).toContain('**passed** (exit 0)');
    const oneLine = join(tempDir(), 'old-one-line.json');
    writeFileSync(oneLine, JSON.stringify({ version: 1, ...head, events: [], summary: null }));
    expect((await readJournal(oneLine)).summary).toBeNull();
  });

  it('after a crash: every whole line is read, a torn last line is left out, no summary', async () => {
    const path = join(tempDir(), 'j.json');
    writeJournal(path, events.slice(0, 6));
    writeFileSync(path, readFileSync(path, 'utf8') + JSON.stringify(tick(2000, 99)).slice(0, 40), { flag: 'w' });
    const j = await readJournal(path);
    expect(j.summary).toBeNull();
    expect(j.tornLastLine).toBe(true);
    expect(j.events.map((e) => e.type)).toEqual(['phase', 'phase', 'tick', 'note']);
    const report = renderReport(j);
    expect(report).toContain('the run did not finish');
    expect(report).toContain('observe — for 1s');
  });

  it.each([
    ['{"version":1,"events":[]}', /experimentId: required[^]*summary: required/],
    [
      '{"version":1,"experimentId":"a","name":"n","startedAt":"s","plan":{},"summary":null,"events":[null]}',
      /events\.0: .*expected object/,
    ],
    [
      JSON.stringify({ version: 1, ...head, events: [], summary: { ...summary, spentUsd: '0.1' } }),
      /summary\.spentUsd: .*expected number, received string/,
    ],
    [
      JSON.stringify({ version: 1, ...head, events: [{ type: 'tick', ts: 1, phase: 'observe' }], summary: null }),
      /events\.0\.slis: required/,
    ],
    [
      `${JSON.stringify({ journal: 'gameday', version: 2, ...head })}\n${JSON.stringify(events[0])}\n{"type":"tick","ts":2,"phase":"observe"}\n`,
      /events\.1\.slis: required \(line 3\)/,
    ],
    [`${JSON.stringify({ journal: 'gameday', version: 2, ...head })}\n{"type":"meteor","ts":2}\n`, /events\.0\.type: .*line 2/],
    [
      `${JSON.stringify({ journal: 'gameday', version: 2, ...head })}\nnot json\n{"type":"phase","ts":1,"phase":"done"}\n`,
      /line 2: not JSON/,
    ],
    [
      `${JSON.stringify({ journal: 'gameday', version: 2, ...head, plan: { slo: { p95LatencyMs: 'fast' } } })}\n`,
      /header\.plan\.slo\.p95LatencyMs: .*\(line 1\)/,
    ],
    [
      `${JSON.stringify({ journal: 'gameday', version: 2, ...head })}\n${JSON.stringify(events[7])}\n${JSON.stringify(events[0])}\n`,
      /line 3: an event after the summary/,
    ],
    ['{"journal":"gameday","version":7}\n', /journal version 7: this gameday reads versions 1 and 2/],
    ['[1,2]\n', /not a gameday journal/],
    ['', /empty/],
  ])('refuses a journal of the wrong shape by what is wrong: %s', async (text, message) => {
    const path = join(tempDir(), 'bad.json');
    writeFileSync(path, text);
    expect(await refusal(path)).toMatch(message);
  });

  it(`refuses a file over ${JOURNAL_MAX_BYTES / 2 ** 20} MiB without reading it`, async () => {
    const path = join(tempDir(), 'huge.json');
    writeFileSync(path, '');
    truncateSync(path, JOURNAL_MAX_BYTES + 1); // sparse: costs no disk
    expect(await refusal(path)).toMatch(/over the journal size limit of 256 MiB/);
  });

  it('reads /dev/zero (no size, no newline) to the line limit, then stops', async () => {
    const started = performance.now();
    expect(await refusal('/dev/zero')).toMatch(/line 1: longer than 4 MiB/);
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('a missing file or a directory is a refusal, not a crash', async () => {
    const dir = tempDir();
    expect(await refusal(join(dir, 'nope.json'))).toMatch(/file not found/);
    expect(await refusal(dir)).toMatch(/is a directory/);
  });
});

describe('checking --journal before anything is spent', () => {
  function stateWithLedger(): string {
    const state = join(tempDir(), 'state');
    Ledger.open(state).close();
    return state;
  }
  const problem = (flag: string | undefined, state: string): string => {
    try {
      checkJournalPath(flag, state);
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).source).toBe('--journal');
      return (err as ConfigError).problems.join('\n');
    }
    return 'accepted';
  };

  it('refuses the ledger and its -wal/-shm, however it is named', () => {
    const state = stateWithLedger();
    const ledger = join(state, 'ledger.sqlite');
    const before = readFileSync(ledger);
    mkdirSync(join(state, 'journals'));
    const elsewhere = tempDir();
    symlinkSync(ledger, join(elsewhere, 'sym.json'));
    symlinkSync(state, join(elsewhere, 'statelink'));
    linkSync(ledger, join(elsewhere, 'hard.json'));
    for (const flag of [
      ledger,
      `${ledger}-wal`,
      `${ledger}-shm`,
      join(state, 'journals', '..', 'ledger.sqlite'),
      join(elsewhere, 'sym.json'),
      join(elsewhere, 'statelink', 'ledger.sqlite-wal'),
      join(elsewhere, 'hard.json'),
    ]) {
      expect(problem(flag, state), flag).toMatch(/is the ledger/);
    }
    expect(readFileSync(ledger).equals(before)).toBe(true);
    // for a state dir that does not exist yet, too (nothing is created)
    const fresh = join(tempDir(), 'fresh');
    expect(problem(join(fresh, 'ledger.sqlite'), fresh)).toMatch(/is the ledger/);
    expect(existsSync(fresh)).toBe(false);
  });

  it('refuses a directory, a device, a missing directory, and a file that is not a journal (SQLite or other)', () => {
    const state = stateWithLedger();
    const dir = tempDir();
    expect(problem(dir, state)).toMatch(/is a directory/);
    expect(problem('/dev/null', state)).toMatch(/not a regular file/);
    expect(problem(join(dir, 'no', 'such', 'j.json'), state)).toMatch(/does not exist/);
    const other = tempDir();
    Ledger.open(other).close();
    expect(problem(join(other, 'ledger.sqlite'), state)).toMatch(/is an SQLite database: refusing to overwrite it/);
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    expect(problem(join(dir, 'notes.txt'), state)).toMatch(/is not a gameday journal/);
    expect(readFileSync(join(dir, 'notes.txt'), 'utf8')).toBe('mine');
  });

  it('accepts a new file, an empty one, or an earlier journal; leaves nothing behind', () => {
    const state = stateWithLedger();
    const dir = tempDir();
    expect(problem(join(dir, 'new.json'), state)).toBe('accepted');
    expect(readdirSync(dir)).toEqual([]);
    closeSync(openSync(join(dir, 'empty.json'), 'w'));
    expect(problem(join(dir, 'empty.json'), state)).toBe('accepted');
    writeJournal(join(dir, 'old.json'));
    expect(problem(join(dir, 'old.json'), state)).toBe('accepted');
  });

  it('the default directory: accepted if it can be made, without making it', () => {
    const fresh = join(tempDir(), 'fresh-state');
    expect(problem(undefined, fresh)).toBe('accepted');
    expect(existsSync(fresh)).toBe(false);
    const state = stateWithLedger();
    writeFileSync(join(state, 'journals'), 'a file where the directory goes');
    expect(problem(undefined, state)).toMatch(/journal directory .* is not a directory; pass --journal FILE/);
  });
});

describe('the schema follows the engine types', () => {
  it('a schema that drifts from Summary or GamedayEvent does not type-check', () => {
    const same: SameShape<Summary, z.infer<typeof SummarySchema>> = true;
    // @ts-expect-error a field missing from the schema
    const missing: SameShape<Summary, z.infer<ReturnType<typeof SummarySchema.omit<{ durationMs: true }>>>> = true;
    // @ts-expect-error an optional field added to the type only
    const added: SameShape<Summary & { extra?: string }, z.infer<typeof SummarySchema>> = true;
    expect([same, missing, added]).toEqual([true, true, true]);
  });
});
