// Text lines for people and logs: every event that matters, a status line a second, a summary.
import { formatDurationMs } from '../config/duration.ts';
import { describeRunBudget } from '../config/sources.ts';
import type { GamedayEvent, Summary } from '../engine/events.ts';
import { formatSli } from '../engine/slis.ts';
import { timelineEntryFor } from '../state/timeline.ts';
import type { Output } from './output.ts';
import { printable } from './printable.ts';
import { makeRedactor } from './redact.ts';

const STATUS_LINE_EVERY_MS = 1000;

function clock(ts: number): string {
  return new Date(ts).toISOString().slice(11, 23);
}

type Tick = Extract<GamedayEvent, { type: 'tick' }>;

/** "[observe, fault on] p95 812ms · errors 0.00% · … · impact 100" */
function statusLine(state: Pick<Tick, 'phase' | 'faultActive' | 'slis' | 'budget' | 'impact'>): string {
  const s = state.slis;
  const b = state.budget;
  const parts = [
    `p95 ${formatSli('p95LatencyMs', s.p95LatencyMs)}`,
    `errors ${formatSli('errorRate', s.errorRate)}`,
    `avail ${formatSli('availability', s.availability)}`,
    `health ${s.healthFailures ? `${s.healthFailures} failed` : 'ok'}`,
    `${s.samples} samples`,
    `$${b.experimentSpentUsd.toFixed(3)}/$${b.experimentCapUsd}`,
    `impact ${Math.round(state.impact.score)}`,
  ];
  return `  [${state.phase}${state.faultActive ? ', fault on' : ''}] ${parts.join(' · ')}`;
}

/** The summary for people; each line redacted, and its user strings (name, reason, path) unable to steer the terminal. */
export function formatSummary(s: Summary, redact: (text: string) => string = makeRedactor()): string {
  const lines = [
    `${s.status === 'rollback-failed' ? '!!! ' : ''}result: ${s.status.toUpperCase()} (exit ${s.exitCode}) — ${s.reason}`,
    `  experiment:    ${s.experiment} (${s.experimentId})`,
    `  spent:         $${s.spentUsd.toFixed(3)} for ${s.requests} requests`,
    ...(s.budget ? [`  budget:        ${describeRunBudget(s.budget)}`] : []),
    `  detection:     ${s.detectionMs === null ? '–' : formatDurationMs(s.detectionMs)}`,
    `  recovery:      ${s.recoveryMs === null ? '–' : formatDurationMs(s.recoveryMs)}${s.recoveryVerified === false ? ' (NOT verified)' : ''}`,
    `  peak impact:   ${s.peakImpact}`,
    `  fault removed: ${s.faultRemoved ? 'yes' : 'NO — REMOVE IT BY HAND'}`,
  ];
  if (s.journalPath) lines.push(`  journal:       ${s.journalPath}`);
  return lines.map((line) => printable(redact(line))).join('\n');
}

/** Event lines as they happen, a status line at most once a second from the ticks, the summary last. */
export function textReporter(out: Pick<Output, 'write'>, redact: (text: string) => string) {
  let lastStatusMs = -Infinity;
  let done = false;
  // one line per event: a newline or ESC in a user string (a name, a note, a command's stderr) is shown, not obeyed
  const write = (ts: number, text: string) => out.write(printable(redact(`${clock(ts)} ${text}`)) + '\n');
  return (e: GamedayEvent): void => {
    if (done) return;
    if (e.type === 'tick') {
      if (e.phase === 'preflight' || e.phase === 'done' || e.ts - lastStatusMs < STATUS_LINE_EVERY_MS) return;
      lastStatusMs = e.ts;
      write(e.ts, statusLine(e));
      return;
    }
    if (e.type === 'summary') {
      done = true;
      out.write(formatSummary(e, redact) + '\n');
      return;
    }
    const entry = timelineEntryFor(e);
    if (!entry) return;
    const mark = entry.severity === 'critical' ? '!!' : entry.severity === 'warn' ? ' !' : '  ';
    write(e.ts, `${mark} ${entry.text}${entry.durationMs !== undefined ? ` in ${formatDurationMs(entry.durationMs)}` : ''}`);
  };
}
