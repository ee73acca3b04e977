// Text lines for people and logs: every event that matters, a status line a second, a summary.
import { formatDurationMs } from '../config/duration.ts';
import type { GamedayEvent, Summary } from '../engine/events.ts';
import { formatSli } from '../engine/slis.ts';
import { timelineEntryFor } from '../state/timeline.ts';

const STATUS_LINE_EVERY_MS = 1000;

function clock(ts: number): string {
  return new Date(ts).toISOString().slice(11, 23);
}

export function formatSummary(s: Summary): string {
  const lines = [
    `${s.exitCode === 6 ? '!!! ' : ''}result: ${s.status.toUpperCase()} (exit ${s.exitCode}) — ${s.reason}`,
    `  experiment:    ${s.experiment} (${s.experimentId})`,
    `  spent:         $${s.spentUsd.toFixed(3)} for ${s.requests} requests`,
    `  detection:     ${s.detectionMs === null ? '–' : formatDurationMs(s.detectionMs)}`,
    `  recovery:      ${s.recoveryMs === null ? '–' : formatDurationMs(s.recoveryMs)}${s.recoveryVerified === false ? ' (NOT verified)' : ''}`,
    `  peak impact:   ${s.peakImpact}`,
    `  fault removed: ${s.faultRemoved ? 'yes' : 'NO — REMOVE IT BY HAND'}`,
  ];
  if (s.journalPath) lines.push(`  journal:       ${s.journalPath}`);
  return lines.join('\n');
}

export function textReporter(out: NodeJS.WritableStream, redact: (text: string) => string) {
  let lastStatusMs = 0;
  const write = (ts: number, text: string) => out.write(redact(`${clock(ts)} ${text}`) + '\n');
  return (e: GamedayEvent): void => {
    if (e.type === 'tick') {
      if (e.ts - lastStatusMs < STATUS_LINE_EVERY_MS || e.phase === 'preflight' || e.phase === 'done') return;
      lastStatusMs = e.ts;
      const s = e.slis;
      write(
        e.ts,
        `  [${e.phase}${e.faultActive ? ', fault on' : ''}] p95 ${formatSli('p95LatencyMs', s.p95LatencyMs)} · errors ${formatSli('errorRate', s.errorRate)} · avail ${formatSli('availability', s.availability)} · health ${s.healthFailures ? `${s.healthFailures} failed` : 'ok'} · ${s.samples} samples · $${e.budget.experimentSpentUsd.toFixed(3)}/$${e.budget.experimentCapUsd} · impact ${Math.round(e.impact.score)}`,
      );
      return;
    }
    if (e.type === 'summary') {
      out.write(redact(formatSummary(e)) + '\n');
      return;
    }
    const entry = timelineEntryFor(e);
    if (!entry) return;
    const mark = entry.severity === 'critical' ? '!!' : entry.severity === 'warn' ? ' !' : '  ';
    write(e.ts, `${mark} ${entry.text}${entry.durationMs !== undefined ? ` in ${formatDurationMs(entry.durationMs)}` : ''}`);
  };
}
