// The HTML report rendered from journals made by hand: the phases and marks it draws, a run that did
// not finish or never measured, PromQL guards, and hostile or secret text from the journal.
import { mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.ts';
import type { GamedayEvent, Summary } from '../../src/engine/events.ts';
import type { Journal } from '../../src/headless/journal.ts';
import { makeRedactor } from '../../src/headless/redact.ts';
import { checkReportOut, isGamedayReport, writeReportFile } from '../../src/headless/report-file.ts';
import { renderHtmlReport } from '../../src/headless/report-html.ts';
import { renderReport } from '../../src/headless/report-markdown.ts';
import { SeriesCollector } from '../../src/headless/report-series.ts';
import { marksOf, phaseBands, timeSpan } from '../../src/headless/report-timeline.ts';
import { tempDir } from '../helpers/cli.ts';
import { decodeEntities, startTags } from '../helpers/html.ts';

const HOSTILE = `</svg><script>alert(1)</script><b onclick="x">'q'</b>`;
const T0 = 1_700_000_000_000;

type Tick = Extract<GamedayEvent, { type: 'tick' }>;
const tick = (ms: number, p95: number, guards: Tick['guards'] = []): Tick => ({
  type: 'tick',
  ts: T0 + ms,
  phase: 'observe',
  slis: { p95LatencyMs: p95, errorRate: 0.002, availability: 0.999, healthFailures: 0, samples: 40, throughputRps: 40 },
  budget: {
    costPerRequestUsd: 0.001,
    experimentSpentUsd: ms / 10_000,
    experimentCapUsd: 1,
    daySpentUsd: 3 + ms / 10_000,
    dayReservedUsd: 0,
    dayCapUsd: 500,
    requestsSent: ms / 10,
    burnUsdPerMin: 0.6,
    timeToCapMs: null,
  },
  impact: { score: Math.min(100, p95 / 5), band: 'low', driver: null, peak: 0 },
  faultActive: true,
  byOutcome: { ok: 0, error: 0, timeout: 0, reset: 0, refused: 0 },
  guards,
});

const summary: Summary = {
  status: 'stopped',
  exitCode: 5,
  experiment: HOSTILE,
  experimentId: 'e1',
  spentUsd: 0.9,
  requests: 900,
  detectionMs: null,
  recoveryMs: 1200,
  peakImpact: 80,
  trigger: 'emergency-stop',
  reason: `emergency stop (${HOSTILE})`,
  faultRemoved: true,
  recoveryVerified: true,
  durationMs: 10_000,
  journalPath: null,
};

function journal(): { j: Journal; ticks: Tick[] } {
  const guard = (v: number | null): Tick['guards'] => [{ name: HOSTILE, value: v, bound: 120, kind: 'max', state: 'ok' }];
  const ticks = [tick(1000, 10, guard(50)), tick(2000, 12, guard(null)), tick(5000, 400, guard(130)), tick(9000, 20, guard(60))];
  const events: GamedayEvent[] = [
    {
      type: 'experiment',
      ts: T0,
      experiment: {
        id: 'e1',
        name: HOSTILE,
        targetUrl: 'http://ops:s3cret-pw@10.0.0.1/',
        faultLabel: 'latency 800ms',
        rps: 40,
        durationMs: 60_000,
        baselineMs: 1000,
        demo: false,
      },
      thresholds: { p95LatencyMs: 500, errorRate: 0.01, availability: 0.99, healthFailures: 3 },
      minSamples: 20,
    },
    { type: 'phase', ts: T0, phase: 'preflight' },
    { type: 'phase', ts: T0 + 500, phase: 'baseline' },
    { type: 'phase', ts: T0 + 3000, phase: 'inject' },
    { type: 'fault', ts: T0 + 3000, state: 'in' },
    { type: 'phase', ts: T0 + 3000, phase: 'observe' },
    { type: 'note', ts: T0 + 4000, text: HOSTILE, source: 'user' },
    { type: 'note', ts: T0 + 4100, text: 'an engine note', source: 'engine' },
    { type: 'budget', ts: T0 + 4500, scope: 'experiment', thresholdPct: 80, spentUsd: 0.8, capUsd: 1 },
    { type: 'emergency-stop', ts: T0 + 6000, source: HOSTILE },
    { type: 'phase', ts: T0 + 6000, phase: 'rollback', detail: 'emergency stop' },
    { type: 'phase', ts: T0 + 6010, phase: 'rollback', detail: 'again' },
    { type: 'rollback', ts: T0 + 6010, step: 'remove-fault', result: 'failed', attempt: 1, message: 'boom' },
    { type: 'fault', ts: T0 + 6020, state: 'out' },
    { type: 'phase', ts: T0 + 6030, phase: 'verify' },
    { type: 'phase', ts: T0 + 10_000, phase: 'done' },
    { type: 'summary', ts: T0 + 10_000, ...summary },
  ];
  const j: Journal = {
    version: 2,
    experimentId: 'e1',
    name: HOSTILE,
    startedAt: '2026-01-01T00:00:00Z',
    plan: { targetUrl: 'http://ops:s3cret-pw@10.0.0.1/', note: HOSTILE },
    events,
    summary,
  };
  return { j, ticks };
}

function render(j: Journal, ticks: Tick[]): string {
  const c = new SeriesCollector();
  ticks.forEach(c.add);
  return renderHtmlReport(j, c.result(), makeRedactor([]));
}

describe('the timeline of a report', () => {
  it('phase bands run from each phase to the next; done is not a band', () => {
    const { j } = journal();
    const bands = phaseBands(j.events, T0 + 10_000);
    expect(bands.map((b) => [b.phase, b.startMs - T0, b.endMs - T0])).toEqual([
      ['preflight', 0, 500],
      ['baseline', 500, 3000],
      ['inject', 3000, 3000],
      ['observe', 3000, 6000],
      ['rollback', 6000, 6010],
      ['rollback', 6010, 6030],
      ['verify', 6030, 10_000],
    ]);
  });

  it('marks the fault, the rollback once, a failed step, budget thresholds, user notes, the stop; not engine notes', () => {
    const { j } = journal();
    expect(marksOf(j.events).map((m) => [m.kind, m.tMs - T0])).toEqual([
      ['fault-in', 3000],
      ['note', 4000],
      ['budget', 4500],
      ['emergency-stop', 6000],
      ['rollback', 6000],
      ['rollback-failed', 6010],
      ['fault-out', 6020],
    ]);
  });

  it('the time span is the first event to the last event or tick, never empty', () => {
    expect(timeSpan([], [5, 9])).toEqual({ t0Ms: 5, t1Ms: 9 });
    expect(timeSpan([{ type: 'phase', ts: 7, phase: 'preflight' }], [])).toEqual({ t0Ms: 7, t1Ms: 8 });
    expect(timeSpan([], [])).toEqual({ t0Ms: 0, t1Ms: 1 });
  });
});

describe('renderHtmlReport', () => {
  it('escapes and redacts everything from the journal: no markup of its own, no secret', () => {
    const { j, ticks } = journal();
    const html = render(j, ticks);
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<b onclick');
    expect(html).not.toContain('s3cret-pw');
    expect(html).toContain('http://ops:***@10.0.0.1/');
    expect(html.match(/<svg\s/g)!.length).toBe(html.match(/<\/svg>/g)!.length);
    expect(decodeEntities(/<h1>([^]*?)<\/h1>/.exec(html)![1])).toBe(`Game day report: ${HOSTILE}`);
    expect(decodeEntities(/<ul class="notes">([^]*?)<\/ul>/.exec(html)![1])).toContain(HOSTILE);
    // a control character is shown, not passed on
    const withEsc = render({ ...j, name: 'a\u001b[2Jb' }, ticks);
    expect(withEsc).toContain('a\\x1b[2Jb');
  });

  it('charts a PromQL guard against its bound, its gap where it could not see', () => {
    const { j, ticks } = journal();
    const html = render(j, ticks);
    const [guard] = startTags(html, 'svg').filter((s) => s['data-chart'] === 'guard-1');
    expect(guard).toBeDefined();
    const guardSvg = /<svg data-chart="guard-1"[^]*?<\/svg>/.exec(html)![0];
    expect(startTags(guardSvg, 'polyline')).toHaveLength(2); // split by the null
    expect(startTags(guardSvg, 'line').find((l) => l['data-bound'] === 'guard')?.['data-value']).toBe('120');
  });

  it('shows both caps: the experiment cap to scale when the spend nears it, the day cap off scale', () => {
    const { j, ticks } = journal();
    const spend = /<svg data-chart="spend"[^]*?<\/svg>/.exec(render(j, ticks))![0];
    const bounds = startTags(spend, 'line').filter((l) => l['data-bound']);
    expect(bounds.map((b) => [b['data-bound'], b['data-value'], b['data-off-scale'] ?? 'no'])).toEqual([
      ['experimentCapUsd', '1', 'no'],
      ['dayCapUsd', '500', 'true'],
    ]);
    expect(spend).toContain('↑ off scale: day cap $500.00');
  });

  it('a run that did not finish, and one that never measured, still render', () => {
    const { j, ticks } = journal();
    const unfinished = render({ ...j, summary: null, events: j.events.slice(0, 8), tornLastLine: true }, ticks);
    expect(unfinished).toContain('did not finish');
    expect(unfinished).toContain('last line was cut short');
    expect(unfinished).not.toContain('data-field=');
    const refused = render({ ...j, events: j.events.slice(0, 3) }, []);
    expect(refused).toContain('No measurements');
    expect(startTags(refused, 'svg').map((s) => s['data-chart'])).toEqual(['timeline']);
  });

  it('the Markdown report is unchanged by the html one (the same renderer as before)', () => {
    const { j } = journal();
    expect(renderReport(j, makeRedactor([]))).toMatch(/^# Game day report: /);
  });
});

describe('report --out', () => {
  it('recognises its own reports only', () => {
    expect(isGamedayReport('# Game day report: x\n')).toBe(true);
    const { j, ticks } = journal();
    expect(isGamedayReport(render(j, ticks).slice(0, 1024))).toBe(true);
    expect(isGamedayReport('<!doctype html><title>mine</title>')).toBe(false);
    expect(isGamedayReport('{"journal":"gameday","version":2}')).toBe(false);
    expect(isGamedayReport('SQLite format 3\0')).toBe(false);
  });

  it('writes whole and private, replacing an earlier report through a link to it', () => {
    const dir = tempDir();
    const target = join(dir, 'r.md');
    expect(checkReportOut(target)).toBe(target);
    writeReportFile(target, '# Game day report: one\n');
    expect(statSync(target).mode & 0o777).toBe(0o600);
    symlinkSync(target, join(dir, 'link.md'));
    const resolved = checkReportOut(join(dir, 'link.md'));
    writeReportFile(resolved, '# Game day report: two\n');
    expect(readFileSync(target, 'utf8')).toBe('# Game day report: two\n');
    expect(readdirSync(dir).sort()).toEqual(['link.md', 'r.md']);
  });

  it('refuses what it must not overwrite or cannot create, as ConfigErrors naming --out', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    mkdirSync(join(dir, 'sub'));
    for (const [path, message] of [
      [join(dir, 'notes.txt'), /not a gameday report: refusing to overwrite it/],
      [join(dir, 'sub'), /is a directory/],
      [join(dir, 'missing', 'r.html'), /the directory of .* does not exist/],
      [join(dir, 'notes.txt', 'r.html'), /cannot be used|is not a directory/],
    ] as const) {
      let err: unknown;
      try {
        checkReportOut(path);
      } catch (e) {
        err = e;
      }
      expect(err, path).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).source).toBe('--out');
      expect((err as ConfigError).problems.join('\n')).toMatch(message);
    }
    // an empty file (made by mktemp, say) is fair game
    writeFileSync(join(dir, 'empty.html'), '');
    expect(checkReportOut(join(dir, 'empty.html'))).toBe(join(dir, 'empty.html'));
  });
});
