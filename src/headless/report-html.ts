// A finished experiment's journal as one self-contained HTML page: the outcome and its figures, the
// SLIs, spend and impact charted over time against their bounds on one shared time axis, the
// timeline, the team's notes and the plan as run. No script, no external resource (a Content
// Security Policy forbids both), inline CSS; it prints without dark backgrounds or split charts.
import { stringify } from 'yaml';
import { formatDurationMs } from '../config/duration.ts';
import type { ExperimentInfo, GamedayEvent } from '../engine/events.ts';
import { formatGuardValue, formatSli, SLI_LABEL, SLI_NAMES, type SloThresholds } from '../engine/slis.ts';
import { timelineEntryFor } from '../state/timeline.ts';
import { escapeHtml } from './html-escape.ts';
import type { Journal } from './journal.ts';
import { printable } from './printable.ts';
import { makeRedactor } from './redact.ts';
import { VERDICT, worstTick } from './report-markdown.ts';
import type { SeriesPoint } from './report-series.ts';
import { marksOf, phaseBands, timeSpan } from './report-timeline.ts';
import { MARK_COLOR, PHASE_COLOR, renderChart, renderTimelineStrip, type ChartSpec, type Overlay, type TimeAxis } from './svg-chart.ts';

/** Marks the file as a gameday report: `report --out` replaces such a file, and no other. */
export const HTML_REPORT_TAG = '<meta name="generator" content="gameday report">';
/** Guards charted one by one; more are listed, not drawn. */
const MAX_GUARD_CHARTS = 8;

const SERIES_COLOR = '#1864ab';
const SECOND_COLOR = '#e67700';
const BOUND_COLOR = '#c92a2a';

/** A number with a few significant digits and no trailing zeros: 0.25, 12.5, 1500. */
const short = (v: number, digits = 3): string => String(Number(v.toPrecision(digits)));
/** Dollars: cents, or tenths of a cent below a dollar when the cents would hide them. */
const usd = (v: number): string => {
  if (v === 0) return '$0';
  const cents = Math.abs(v * 100 - Math.round(v * 100)) < 1e-6;
  return `$${v.toFixed(Math.abs(v) >= 1 || cents ? 2 : 3)}`;
};

const CSS = `
:root { color-scheme: light; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #212529; background: #fff; max-width: 1000px; margin: 24px auto; padding: 0 16px; }
h1 { font-size: 1.6em; margin: 0 0 .2em; overflow-wrap: anywhere; }
h2 { font-size: 1.2em; margin: 1.6em 0 .5em; border-bottom: 1px solid #dee2e6; padding-bottom: .2em; }
.meta { color: #495057; margin: .2em 0; overflow-wrap: anywhere; }
.status { display: inline-block; padding: 1px 8px; border: 1.5px solid #495057; border-radius: 4px; font-weight: 700; }
.status-passed { border-color: #2b8a3e; color: #2b8a3e; }
.status-breach, .status-budget, .status-stopped { border-color: #d9480f; color: #d9480f; }
.status-rollback-failed, .status-unfinished { border-color: #c92a2a; color: #c92a2a; }
table { border-collapse: collapse; margin: .4em 0; }
th, td { border-bottom: 1px solid #dee2e6; padding: 3px 12px 3px 0; text-align: left; vertical-align: top; }
th { font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.text { overflow-wrap: anywhere; }
table.summary td.num { text-align: left; }
figure.chart { margin: 10px 0 22px; break-inside: avoid; page-break-inside: avoid; }
figure.chart figcaption { font-weight: 600; margin-bottom: 2px; }
figure.chart svg { display: block; width: 100%; height: auto; }
.legend { font-weight: 400; font-size: .85em; color: #495057; margin-left: .6em; }
.legend span { margin-right: 1em; white-space: nowrap; }
.swatch { display: inline-block; width: 14px; height: 3px; vertical-align: middle; margin-right: 4px; }
.swatch.dashed { height: 0; border-top: 2px dashed; }
.box { display: inline-block; width: 12px; height: 12px; vertical-align: -2px; margin-right: 4px; border: 1px solid #adb5bd; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; background: #f8f9fa; border: 1px solid #dee2e6; padding: 8px 10px; font-size: 12px; line-height: 1.35; }
.muted { color: #6c757d; }
ul.notes li { margin: .2em 0; overflow-wrap: anywhere; }
@media print {
  body { margin: 0; max-width: none; font-size: 10.5pt; }
  pre { background: none; }
  h2 { break-after: avoid; page-break-after: avoid; }
  tr, li { break-inside: avoid; }
  svg { print-color-adjust: exact; -webkit-print-color-adjust: exact; }
  @page { margin: 14mm; }
}
`;

type Text = (text: string) => string;

/** The last element matching (ES2022 has no findLast). */
function lastWhere<T>(items: readonly T[], pred: (item: T) => boolean): T | undefined {
  for (let i = items.length - 1; i >= 0; i--) if (pred(items[i])) return items[i];
  return undefined;
}

function lastExperiment(events: readonly GamedayEvent[]): Extract<GamedayEvent, { type: 'experiment' }> | null {
  const e = lastWhere(events, (x) => x.type === 'experiment');
  return e?.type === 'experiment' ? e : null;
}

function swatch(color: string, label: string, dashed = false): string {
  return `<span><i class="swatch${dashed ? ' dashed' : ''}" style="${dashed ? `border-color:${color}` : `background:${color}`}"></i>${label}</span>`;
}

function figure(spec: ChartSpec, caption: string, axis: TimeAxis, overlay: Overlay): string {
  const legend = [
    ...spec.series.map((s, i) => swatch(s.color, escapeHtml(s.label), i > 0)),
    ...spec.bounds.map((b) => swatch(b.color, escapeHtml(`${b.label} ${spec.format(b.value)}`), true)),
  ].join('');
  return `<figure class="chart"><figcaption>${caption}<span class="legend">${legend}</span></figcaption>\n${renderChart(spec, axis, overlay)}\n</figure>`;
}

/** The thresholds the run was held to: the experiment event's, else the plan's. */
function thresholdsOf(j: Journal): Partial<SloThresholds> {
  const last = lastExperiment(j.events);
  if (last) return last.thresholds;
  return (j.plan as { slo?: Partial<SloThresholds> }).slo ?? {};
}

type Figure = { spec: ChartSpec; caption: string };
type Pick = (p: SeriesPoint) => number | null;

function seriesOf(
  points: readonly SeriesPoint[],
  id: string,
  label: string,
  pick: Pick,
  color = SERIES_COLOR,
): ChartSpec['series'][number] {
  return { id, label, color, points: points.map((p) => [p.tMs, pick(p)] as const) };
}

const sloBound = (id: string, label: string, value: number | undefined): ChartSpec['bounds'] =>
  value === undefined ? [] : [{ id, label, value, color: BOUND_COLOR }];

/** Each built-in SLI against its objective. */
function sliFigures(points: readonly SeriesPoint[], slo: Partial<SloThresholds>): Figure[] {
  const against = (name: 'p95LatencyMs' | 'errorRate' | 'availability', word: string) =>
    slo[name] === undefined ? '' : ` against its SLO (${word} ${formatSli(name, slo[name])})`;
  const pct = (v: number) => `${short(v * 100, 4)}%`;
  return [
    {
      caption: `p95 latency${against('p95LatencyMs', 'at most')}`,
      spec: {
        id: 'p95-latency',
        title: 'p95 latency over time',
        series: [seriesOf(points, 'p95LatencyMs', 'p95 latency', (p) => p.p95LatencyMs)],
        bounds: sloBound('p95LatencyMs', 'SLO', slo.p95LatencyMs),
        format: (v) => `${short(v)}ms`,
        domain: { zero: true, minSpan: 1 },
      },
    },
    {
      caption: `error rate${against('errorRate', 'at most')}`,
      spec: {
        id: 'error-rate',
        title: 'error rate over time',
        series: [seriesOf(points, 'errorRate', 'error rate', (p) => p.errorRate)],
        bounds: sloBound('errorRate', 'SLO', slo.errorRate),
        format: pct,
        domain: { zero: true, max: 1, minSpan: 0.001 },
      },
    },
    {
      caption: `availability${against('availability', 'at least')}`,
      spec: {
        id: 'availability',
        title: 'availability over time',
        series: [seriesOf(points, 'availability', 'availability', (p) => p.availability)],
        bounds: sloBound('availability', 'SLO', slo.availability),
        format: pct,
        domain: { max: 1, minSpan: 0.005 },
      },
    },
    {
      caption: `failed health probes in a row${slo.healthFailures === undefined ? '' : ` (the SLO breaks at ${slo.healthFailures})`}`,
      spec: {
        id: 'health',
        title: 'consecutive failed health probes over time',
        series: [seriesOf(points, 'healthFailures', 'failed probes in a row', (p) => p.healthFailures)],
        bounds: sloBound('healthFailures', 'breaks at', slo.healthFailures),
        format: (v) => short(v),
        domain: { zero: true, minSpan: 1 },
      },
    },
  ];
}

/** Spend against both caps (a cap far above the spend is drawn off scale), and the impact score. */
function spendAndImpactFigures(points: readonly SeriesPoint[]): Figure[] {
  const last = points.at(-1);
  return [
    {
      caption: 'spend against the experiment cap and the day cap',
      spec: {
        id: 'spend',
        title: 'spend over time',
        series: [
          seriesOf(points, 'experimentSpentUsd', 'this experiment', (p) => p.experimentSpentUsd),
          seriesOf(points, 'daySpentUsd', 'today, all experiments', (p) => p.daySpentUsd, SECOND_COLOR),
        ],
        bounds: last
          ? [
              { id: 'experimentCapUsd', label: 'experiment cap', value: last.experimentCapUsd, color: SERIES_COLOR, mayBeOffScale: true },
              { id: 'dayCapUsd', label: 'day cap', value: last.dayCapUsd, color: SECOND_COLOR, mayBeOffScale: true },
            ]
          : [],
        format: usd,
        domain: { zero: true, minSpan: 0.01 },
      },
    },
    {
      caption: 'impact score (100: an SLO reached)',
      spec: {
        id: 'impact',
        title: 'impact score over time',
        series: [seriesOf(points, 'impact', 'impact', (p) => p.impact)],
        bounds: [{ id: 'impact', label: 'SLO reached', value: 100, color: BOUND_COLOR }],
        format: (v) => short(v),
        domain: { zero: true, minSpan: 1 },
        include: [0, 100],
      },
    },
  ];
}

/** Each PromQL guard against its bound; a gap where it could not see. */
function guardFigures(points: readonly SeriesPoint[], text: Text): Figure[] {
  const names = [...new Set(points.flatMap((p) => Object.keys(p.guards)))].slice(0, MAX_GUARD_CHARTS);
  return names.map((name, i) => {
    const g = lastWhere(points, (p) => p.guards[name] !== undefined)?.guards[name];
    return {
      caption: `PromQL guard ${text(name)}${g ? ` (${g.kind} ${escapeHtml(formatGuardValue(g.bound))})` : ''}`,
      spec: {
        id: `guard-${i + 1}`,
        title: `guard ${name} over time`,
        series: [seriesOf(points, 'guard', name, (p) => p.guards[name]?.value ?? null)],
        bounds: g ? [{ id: 'guard', label: g.kind, value: g.bound, color: BOUND_COLOR }] : [],
        format: formatGuardValue,
        domain: { minSpan: Math.abs(g?.bound ?? 1) * 0.01 || 1e-6 },
      },
    };
  });
}

function summaryTable(j: Journal, points: readonly SeriesPoint[], text: Text): string {
  const s = j.summary;
  if (!s) return '';
  const last = points.at(-1);
  const dur = (v: number | null) => (v === null ? '–' : formatDurationMs(v));
  type Row = [field: string, label: string, value: string | number | boolean | null, shown: string];
  const rows: Row[] = [
    ['status', 'status', s.status, `<span class="status status-${escapeHtml(s.status)}">${text(s.status)}</span>`],
    ['exitCode', 'exit code', s.exitCode, String(s.exitCode)],
    ['reason', 'cause', s.reason, text(s.reason)],
    ['trigger', 'rollback trigger', s.trigger, s.trigger ? text(s.trigger) : '–'],
    ['detectionMs', 'detection time', s.detectionMs, dur(s.detectionMs)],
    ['recoveryMs', 'recovery time', s.recoveryMs, dur(s.recoveryMs)],
    ['durationMs', 'duration', s.durationMs, dur(s.durationMs)],
    ['requests', 'requests', s.requests, String(s.requests)],
    ['spentUsd', 'spent', s.spentUsd, `$${s.spentUsd.toFixed(3)}`],
    ...(last
      ? [
          ['experimentCapUsd', 'experiment cap', last.experimentCapUsd, `$${last.experimentCapUsd.toFixed(2)}`] as Row,
          ['dayCapUsd', 'day cap', last.dayCapUsd, `$${last.dayCapUsd.toFixed(2)}`] as Row,
        ]
      : []),
    ['peakImpact', 'peak impact', s.peakImpact, `${short(s.peakImpact)} / 100`],
    ['faultRemoved', 'fault removed', s.faultRemoved, s.faultRemoved ? 'yes' : '<strong>NO</strong>'],
    ['recoveryVerified', 'recovery verified', s.recoveryVerified, s.recoveryVerified === null ? '–' : s.recoveryVerified ? 'yes' : 'no'],
  ];
  const body = rows
    .map(
      ([field, label, value, shown]) =>
        `<tr data-field="${field}" data-value="${text(String(value))}"><th>${label}</th><td class="${typeof value === 'number' ? 'num' : 'text'}">${shown}</td></tr>`,
    )
    .join('\n');
  return `<table class="summary">\n${body}\n</table>`;
}

function worstSlisTable(j: Journal, slo: Partial<SloThresholds>): string {
  const worst = worstTick(j.events);
  if (!worst) return '';
  const rows = SLI_NAMES.map((name) => {
    const thr = slo[name];
    return `<tr data-sli="${name}"><th>${SLI_LABEL[name]}</th><td class="num">${escapeHtml(formatSli(name, worst[name]))}</td><td class="num">${thr === undefined ? '–' : escapeHtml(formatSli(name, thr))}</td></tr>`;
  }).join('\n');
  return `<h2>SLIs at the worst moment</h2>\n<table><tr><th>SLI</th><th class="num">value</th><th class="num">objective</th></tr>\n${rows}\n</table>`;
}

function phasesTable(overlay: Overlay, t0Ms: number): string {
  if (!overlay.bands.length) return '';
  const rows = overlay.bands
    .map(
      (b) =>
        `<tr data-phase="${b.phase}"><th><i class="box" style="background:${PHASE_COLOR[b.phase] ?? '#f1f3f5'}"></i>${b.phase}</th><td class="num">+${formatDurationMs(b.startMs - t0Ms)}</td><td class="num">${formatDurationMs(b.endMs - b.startMs)}</td></tr>`,
    )
    .join('\n');
  return `<table class="phases"><tr><th>phase</th><th class="num">from</th><th class="num">for</th></tr>\n${rows}\n</table>`;
}

function marksLegend(overlay: Overlay): string {
  const kinds = [...new Set(overlay.marks.map((m) => m.kind))];
  if (!kinds.length) return '';
  return `<p class="legend">${kinds.map((k) => swatch(MARK_COLOR[k], k.replace('-', ' '))).join('')}</p>`;
}

function timelineTable(events: readonly GamedayEvent[], t0Ms: number, text: Text): string {
  const rows = events.flatMap((e) => {
    const entry = timelineEntryFor(e);
    if (!entry || e.type === 'summary') return [];
    const took = entry.durationMs === undefined ? '' : ` (${formatDurationMs(entry.durationMs)})`;
    return [
      `<tr data-kind="${entry.kind}" data-t-ms="${e.ts}"><td class="num">+${formatDurationMs(e.ts - t0Ms)}</td><td class="text">${text(entry.text + took)}</td></tr>`,
    ];
  });
  return `<table class="timeline">\n${rows.join('\n')}\n</table>`;
}

function experimentInfo(j: Journal): ExperimentInfo | null {
  return lastExperiment(j.events)?.experiment ?? null;
}

/** From the doctype to the heading: the head (no script, no external resource) and what was run where. */
function pageTop(j: Journal, text: Text): string[] {
  const plan = j.plan as { fault?: { type?: string }; traffic?: { rps?: number }; targetUrl?: string };
  const info = experimentInfo(j);
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    HTML_REPORT_TAG,
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>Game day report: ${text(j.name)}</title>`,
    `<style>${CSS}</style>`,
    '</head>',
    '<body>',
    `<h1>Game day report: ${text(j.name)}</h1>`,
    `<p class="meta">Experiment <code>${text(j.experimentId)}</code> · started ${text(j.startedAt)}</p>`,
    `<p class="meta">Target: ${text(info?.targetUrl ?? plan.targetUrl ?? 'embedded demo')} · fault: ${text(info?.faultLabel ?? plan.fault?.type ?? '?')} · ${text(String(info?.rps ?? plan.traffic?.rps ?? '?'))} rps</p>`,
  ];
}

/**
 * The page. Every string from the journal is redacted (a journal written by an older gameday or by
 * hand may not be), shown without control characters and HTML-escaped.
 */
export function renderHtmlReport(
  j: Journal,
  series: { points: readonly SeriesPoint[]; ticks: number },
  redact: (text: string) => string = makeRedactor(),
): string {
  const text: Text = (s) => escapeHtml(printable(redact(s)));
  const s = j.summary;
  const points = series.points;
  const slo = thresholdsOf(j);
  const { t0Ms, t1Ms } = timeSpan(
    j.events,
    points.map((p) => p.tMs),
  );
  const axis: TimeAxis = { t0Ms, t1Ms };
  const overlay: Overlay = { bands: phaseBands(j.events, t1Ms), marks: marksOf(j.events) };

  const html: string[] = pageTop(j, text);

  html.push('<h2>Outcome</h2>');
  if (s) {
    html.push(
      `<p><span class="status status-${escapeHtml(s.status)}">${text(s.status)}</span> (exit ${s.exitCode}): ${text(s.reason)}</p>`,
    );
    if (VERDICT[s.status]) html.push(`<p>${escapeHtml(VERDICT[s.status].replace(/\*\*/g, ''))}</p>`);
    html.push(summaryTable(j, points, text));
  } else {
    html.push(
      '<p><span class="status status-unfinished">did not finish</span> The journal has no summary: the run did not finish (its controller may have died).</p>',
    );
    if (j.tornLastLine) html.push('<p>Its last line was cut short as it was written, and is left out.</p>');
  }
  html.push(worstSlisTable(j, slo));

  html.push('<h2>Over time</h2>');
  html.push(
    `<p class="muted">One time axis for every chart (time since the first event). Shaded: the phases. Vertical lines: the events below. ${points.length < series.ticks ? `${series.ticks} measurements, drawn as ${points.length} points (each the worst of its neighbours).` : `${series.ticks} measurements.`}</p>`,
  );
  html.push(
    `<figure class="chart"><figcaption>Phases and events</figcaption>\n${renderTimelineStrip(axis, overlay)}\n${marksLegend(overlay)}</figure>`,
  );
  if (points.length) {
    for (const { spec, caption } of [...sliFigures(points, slo), ...spendAndImpactFigures(points), ...guardFigures(points, text)])
      html.push(figure(spec, caption, axis, overlay));
    const guardCount = new Set(points.flatMap((p) => Object.keys(p.guards))).size;
    if (guardCount > MAX_GUARD_CHARTS) html.push(`<p class="muted">${guardCount - MAX_GUARD_CHARTS} more guards are not charted.</p>`);
  } else {
    html.push('<p class="muted">No measurements: the run ended before traffic started.</p>');
  }
  html.push(phasesTable(overlay, t0Ms));

  html.push('<h2>Timeline</h2>', timelineTable(j.events, t0Ms, text));
  if (j.omittedEvents) html.push(`<p class="muted">… ${j.omittedEvents} more events not shown.</p>`);

  const notes = j.events.filter((e) => e.type === 'note' && e.source === 'user');
  html.push('<h2>Notes from the team</h2>');
  html.push(
    notes.length
      ? `<ul class="notes">\n${notes.map((n) => (n.type === 'note' ? `<li data-t-ms="${n.ts}"><span class="muted">+${formatDurationMs(n.ts - t0Ms)}</span> ${text(n.text)}</li>` : '')).join('\n')}\n</ul>`
      : '<p class="muted">No notes were taken during the run.</p>',
  );

  const planText = stringify(j.plan, { lineWidth: 0 })
    .split('\n')
    .map((line) => text(line))
    .join('\n');
  html.push('<h2>The plan as run</h2>', `<pre class="plan">${planText}</pre>`);
  html.push(`<p class="muted">Rendered by gameday report from journal version ${j.version}.</p>`);
  html.push('</body>', '</html>');
  return html.filter(Boolean).join('\n') + '\n';
}
