// `gameday report --format html` on the journal of a real run against the embedded demo (a latency
// fault, a p95 breach, a rollback, a recovery; a note taken mid-run; a name and a note that try to
// break out of the markup): through the real CLI, then read back as markup and as Chromium renders it.
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { MemoryBudget } from '../../src/budget/budget.ts';
import { resolveRunPlan } from '../../src/config/plan.ts';
import type { GamedayEvent, Summary } from '../../src/engine/events.ts';
import { ExperimentRun } from '../../src/engine/run.ts';
import { JournalWriter } from '../../src/headless/journal.ts';
import { runCli, tempDir } from '../helpers/cli.ts';
import { describeWithChromium, runChromium } from '../helpers/chromium.ts';
import { decodeEntities, startTags, svgs } from '../helpers/html.ts';

const HOSTILE_NAME = `checkout </svg><script>alert(1)</script> "quoted" 'single' & co`;
const HOSTILE_NOTE = `saw the spike </title></svg><script>alert("note")</script><img src=x onerror=alert(2)>`;

interface Recorded {
  dir: string;
  journal: string;
  events: GamedayEvent[];
  summary: Summary;
}

/** A real breach run of the engine against the embedded demo, journaled as `gameday run` does. */
async function recordBreachRun(): Promise<Recorded> {
  const plan = resolveRunPlan({ experimentType: 'latency', duration: '20s', rps: '50', metricsPort: '0' }, {});
  plan.name = HOSTILE_NAME;
  plan.schedule.warmupMs = 200;
  plan.schedule.baselineMs = 1500;
  plan.schedule.recoveryWindowMs = 1000;
  const dir = tempDir('gameday-report-html-');
  const journal = join(dir, 'run.json');
  const writer = JournalWriter.open(
    journal,
    { experimentId: 'html0001', name: plan.name, startedAt: new Date().toISOString(), plan: plan as unknown as Record<string, unknown> },
    (s) => s,
  );
  const run = new ExperimentRun({
    plan,
    experimentId: 'html0001',
    budget: new MemoryBudget({ costPerRequestUsd: 0.001, experimentCapUsd: 2, dayCapUsd: 500 }),
    journalPath: () => journal,
  });
  run.onEvent(writer.record);
  let noted = false;
  run.onEvent((e) => {
    // a note taken during the baseline, as the operator would from the control room
    if (!noted && e.type === 'tick' && e.phase === 'baseline') {
      noted = true;
      run.addNote(HOSTILE_NOTE);
    }
  });
  const summary = await run.run();
  writer.close();
  expect(summary.status).toBe('breach');
  const lines = readFileSync(journal, 'utf8').trim().split('\n');
  const events = lines.slice(1).map((l) => JSON.parse(l) as GamedayEvent);
  return { dir, journal, events, summary };
}

const numberAttr = (tag: Record<string, string>, name: string): number => {
  const v = Number(tag[name]);
  if (!Number.isFinite(v)) throw new Error(`${name}="${tag[name]}" is not a number`);
  return v;
};

/** The x the shared scale gives time `tMs` in a chart, from the chart's own data- attributes. */
function expectedX(svg: Record<string, string>, tMs: number): number {
  const [t0, t1, x0, x1] = ['data-t0-ms', 'data-t1-ms', 'data-x0', 'data-x1'].map((n) => numberAttr(svg, n));
  return x0 + ((tMs - t0) / (t1 - t0)) * (x1 - x0);
}

let rec: Recorded;
let html: string;
let out: string;

beforeAll(async () => {
  rec = await recordBreachRun();
  out = join(rec.dir, 'report.html');
  const r = await runCli(['report', rec.journal, '--format', 'html', '--out', out]);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toBe('');
  html = readFileSync(out, 'utf8');
}, 120_000);

describe('report --format html of a real breach run', () => {
  it('is written to --out, private (0600), one self-contained page with no script and no external resource', () => {
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/<script/i);
    // in a tag (text holds no raw `<`): no event handler, nothing loaded from anywhere
    expect(html).not.toMatch(/<[a-z][^>]*\son\w+\s*=/i);
    expect(html).not.toMatch(/<[a-z][^>]*\s(src|href)\s*=/i);
    expect(html).not.toMatch(/@import|url\(/i);
    expect(html).toContain("default-src 'none'");
    // no temp file left beside it
    expect(readdirSync(rec.dir).sort()).toEqual(['report.html', 'run.json']);
  });

  it("the summary table's figures are the journal's summary", () => {
    const rows = Object.fromEntries(startTags(html, 'tr').flatMap((t) => (t['data-field'] ? [[t['data-field'], t['data-value']]] : [])));
    const s = rec.summary;
    expect(rows.status).toBe(s.status);
    for (const field of ['exitCode', 'requests', 'spentUsd', 'peakImpact', 'durationMs', 'detectionMs', 'recoveryMs'] as const)
      expect(Number(rows[field]), field).toBe(s[field]);
    expect(rows.reason).toBe(s.reason);
    expect(rows.faultRemoved).toBe(String(s.faultRemoved));
    expect(rows.recoveryVerified).toBe(String(s.recoveryVerified));
    const lastTick = rec.events.filter((e) => e.type === 'tick').at(-1);
    if (lastTick?.type !== 'tick') throw new Error('no tick in the journal');
    expect(Number(rows.experimentCapUsd)).toBe(lastTick.budget.experimentCapUsd);
    expect(Number(rows.dayCapUsd)).toBe(lastTick.budget.dayCapUsd);
    // and shown as people read them
    expect(html).toContain(`$${s.spentUsd.toFixed(3)}`);
    expect(html).toContain(`(exit ${s.exitCode})`);
  });

  it('charts each SLI, the spend and the impact, every chart on the same time axis', () => {
    const charts = startTags(html, 'svg');
    const ids = charts.map((c) => c['data-chart']);
    expect(ids).toEqual(expect.arrayContaining(['timeline', 'p95-latency', 'error-rate', 'availability', 'spend', 'impact']));
    expect(ids.filter((id) => id !== 'timeline').length).toBeGreaterThanOrEqual(3);
    const t0 = rec.events[0].ts;
    const t1 = rec.events.at(-1)!.ts;
    for (const c of charts) {
      expect(numberAttr(c, 'data-t0-ms'), c['data-chart']).toBe(t0);
      expect(numberAttr(c, 'data-t1-ms'), c['data-chart']).toBe(t1);
      expect([c['data-x0'], c['data-x1'], c.viewBox.split(' ')[2]]).toEqual([
        charts[0]['data-x0'],
        charts[0]['data-x1'],
        charts[0].viewBox.split(' ')[2],
      ]);
    }
    // each chart has its series drawn, and the SLI charts their bound
    for (const svg of svgs(html).filter((s) => !s.includes('data-chart="timeline"'))) expect(svg).toMatch(/<polyline data-series="/);
    const latency = svgs(html).find((s) => s.includes('data-chart="p95-latency"'))!;
    expect(startTags(latency, 'line').find((l) => l['data-bound'] === 'p95LatencyMs')?.['data-value']).toBe('500');
  });

  it('marks the fault going in and the breach at the x of their times in the journal, in every chart', () => {
    const faultIn = rec.events.find((e) => e.type === 'fault' && e.state === 'in')!;
    const breach = rec.events.find((e) => e.type === 'breach')!;
    expect(breach.ts).toBeGreaterThan(faultIn.ts);
    const pieces = svgs(html);
    expect(pieces.length).toBeGreaterThanOrEqual(6);
    for (const svg of pieces) {
      const [chart] = startTags(svg, 'svg');
      const lines = startTags(svg, 'line');
      for (const [kind, event] of [
        ['fault-in', faultIn],
        ['breach', breach],
      ] as const) {
        const mark = lines.find((l) => l['data-mark'] === kind);
        expect(mark, `${chart['data-chart']}: ${kind}`).toBeDefined();
        expect(numberAttr(mark!, 'data-t-ms')).toBe(event.ts);
        expect(numberAttr(mark!, 'x1')).toBeCloseTo(expectedX(chart, event.ts), 1);
        expect(mark!.x2).toBe(mark!.x1);
      }
    }
  });

  it("the latency line crosses its bound where the breach mark is: the series' x scale is the marks' scale", () => {
    const svg = svgs(html).find((s) => s.includes('data-chart="p95-latency"'))!;
    const [chart] = startTags(svg, 'svg');
    const bound = startTags(svg, 'line').find((l) => l['data-bound'] === 'p95LatencyMs')!;
    const boundY = numberAttr(bound, 'y1');
    const points = startTags(svg, 'polyline')
      .filter((p) => p['data-series'] === 'p95LatencyMs')
      .flatMap((p) => p.points.split(' ').map((xy) => xy.split(',').map(Number)));
    // SVG y grows downwards: above the bound is a smaller y
    const over = points.find(([, y]) => y < boundY);
    expect(over, 'a point above the SLO line').toBeDefined();
    const breach = rec.events.find((e) => e.type === 'breach')!;
    const pxPerMs =
      (numberAttr(chart, 'data-x1') - numberAttr(chart, 'data-x0')) / (numberAttr(chart, 'data-t1-ms') - numberAttr(chart, 'data-t0-ms'));
    // within one tick (250 ms) of the breach
    expect(Math.abs(over![0] - expectedX(chart, breach.ts))).toBeLessThanOrEqual(250 * pxPerMs + 0.1);
  });

  it('phase bands cover the phases of the journal, on the same scale', () => {
    const timeline = svgs(html).find((s) => s.includes('data-chart="timeline"'))!;
    const [chart] = startTags(timeline, 'svg');
    const bands = startTags(timeline, 'rect').filter((r) => r['data-phase']);
    const phases = rec.events.filter((e) => e.type === 'phase' && e.phase !== 'done');
    expect(bands.map((b) => b['data-phase'])).toEqual(phases.map((p) => (p.type === 'phase' ? p.phase : '')));
    for (const [i, b] of bands.entries()) {
      expect(numberAttr(b, 'data-t-start-ms')).toBe(phases[i].ts);
      expect(numberAttr(b, 'x')).toBeCloseTo(expectedX(chart, phases[i].ts), 1);
    }
  });

  it('shows hostile text as text: the name and the note are escaped, never markup', () => {
    const h1 = /<h1>([^]*?)<\/h1>/.exec(html)![1];
    expect(decodeEntities(h1)).toBe(`Game day report: ${HOSTILE_NAME}`);
    const notes = /<ul class="notes">([^]*?)<\/ul>/.exec(html)![1];
    expect(decodeEntities(notes)).toContain(HOSTILE_NOTE);
    // the note is a mark on the charts, its text in the mark's tooltip, escaped there too
    expect(html).toContain('data-mark="note"');
    expect(html.match(/<svg\s/g)!.length).toBe(html.match(/<\/svg>/g)!.length);
    expect(html.match(/<title>/g)!.length).toBe(html.match(/<\/title>/g)!.length);
    expect(html).not.toContain('<img');
  });

  it('holds the plan as run and the timeline', () => {
    expect(html).toContain('<h2>The plan as run</h2>');
    expect(html).toMatch(/<pre class="plan">[^]*p95LatencyMs: 500/);
    expect(html).toMatch(/SLO breach: p95 latency \d+ms \(limit 500ms\)/);
  });
});

describe('report --format and --out', () => {
  it('md stays the default: the same Markdown on stdout with or without --format md, and in --out', async () => {
    const plain = await runCli(['report', rec.journal]);
    const md = await runCli(['report', rec.journal, '--format', 'md']);
    expect(plain.code, plain.stderr).toBe(0);
    expect(md.stdout).toBe(plain.stdout);
    expect(plain.stdout.startsWith('# Game day report: ')).toBe(true);
    const file = join(rec.dir, 'report.md');
    const r = await runCli(['report', rec.journal, '--out', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(plain.stdout);
    // html on stdout when there is no --out
    const h = await runCli(['report', rec.journal, '--format', 'html']);
    expect(h.code, h.stderr).toBe(0);
    expect(h.stdout).toBe(html);
  });

  it('an unknown format is exit 1, nothing written', async () => {
    const file = join(rec.dir, 'never.pdf');
    const r = await runCli(['report', rec.journal, '--format', 'pdf', '--out', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--format.*pdf.*md, html/);
    expect(existsSync(file)).toBe(false);
  });

  it('--out into a missing directory, onto a directory or onto a file that is not a report: exit 1, nothing changed', async () => {
    const precious = join(rec.dir, 'precious.txt');
    writeFileSync(precious, 'do not lose me\n');
    const cases: [string, RegExp][] = [
      [join(rec.dir, 'missing', 'r.html'), /--out:\s+- the directory of .*missing\/r\.html does not exist/],
      [rec.dir, /is a directory/],
      [precious, /is not a gameday report: refusing to overwrite it/],
      [rec.journal, /is not a gameday report: refusing to overwrite it/],
      ['/dev/null', /not a regular file/],
    ];
    const journalBefore = readFileSync(rec.journal, 'utf8');
    for (const [target, message] of cases) {
      const r = await runCli(['report', rec.journal, '--format', 'html', '--out', target]);
      expect(r.code, `${target}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    expect(readFileSync(precious, 'utf8')).toBe('do not lose me\n');
    expect(readFileSync(rec.journal, 'utf8')).toBe(journalBefore);
    expect(existsSync(join(rec.dir, 'missing'))).toBe(false);
  });

  it('an earlier report at --out is replaced whole (a new file, 0600)', async () => {
    const file = join(rec.dir, 'again.html');
    writeFileSync(file, '<!doctype html>\n<html>\n<head>\n<meta charset="utf-8">\n<meta name="generator" content="gameday report">\nold', {
      mode: 0o644,
    });
    const r = await runCli(['report', rec.journal, '--format', 'html', '--out', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(html);
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('a bad journal is exit 1 with the problem, no stack, and no file at --out', async () => {
    const bad = join(rec.dir, 'bad.json');
    const lines = readFileSync(rec.journal, 'utf8').trim().split('\n');
    // a tick whose p95 is a string: the wrong shape on line 20
    const tick = JSON.parse(lines[19]) as Record<string, unknown>;
    lines[19] = JSON.stringify({ ...tick, type: 'tick', slis: { p95LatencyMs: 'fast' } });
    writeFileSync(bad, lines.join('\n') + '\n');
    for (const [journal, message] of [
      [bad, /line 20/],
      [join(rec.dir, 'nope.json'), /file not found/],
      [out, /not a gameday journal/],
    ] as const) {
      const target = join(rec.dir, 'from-bad.html');
      const r = await runCli(['report', journal, '--format', 'html', '--out', target]);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at |internal error/);
      expect(existsSync(target)).toBe(false);
      expect(readdirSync(rec.dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    }
  });
});

describeWithChromium('the report in a real browser (headless Chromium)', () => {
  it('renders: a screenshot that is not blank, and the charts in the parsed DOM', async () => {
    const png = join(rec.dir, 'r.png');
    const shot = await runChromium(['--screenshot=' + png, '--window-size=1200,2400', `file://${out}`]);
    expect(existsSync(png), `chromium exit ${shot.code}: ${shot.stderr.slice(-1000)}`).toBe(true);
    const bytes = readFileSync(png);
    expect(bytes.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    // IHDR: the size asked for
    expect([bytes.readUInt32BE(16), bytes.readUInt32BE(20)]).toEqual([1200, 2400]);
    // a blank page of that size compresses to a few KB; text and charts do not
    expect(bytes.length).toBeGreaterThan(60_000);

    const dom = await runChromium(['--dump-dom', `file://${out}`]);
    expect(dom.code, dom.stderr.slice(-1000)).toBe(0);
    const rendered = startTags(dom.stdout, 'svg').map((s) => s['data-chart']);
    expect(rendered).toEqual(startTags(html, 'svg').map((s) => s['data-chart']));
    expect(dom.stdout.match(/<polyline /g)?.length).toBe(html.match(/<polyline /g)?.length);
    // the hostile name is text in the parsed page, not an element
    expect(dom.stdout).not.toMatch(/<script/i);
    expect(decodeEntities(/<h1>([^]*?)<\/h1>/.exec(dom.stdout)![1])).toBe(`Game day report: ${HOSTILE_NAME}`);
  });
});
