// A finished experiment's journal as a Markdown game-day report: what was done, what happened, what
// it cost, and the timeline.
import { formatDurationMs } from '../config/duration.ts';
import type { GamedayEvent } from '../engine/events.ts';
import { formatSli, SLI_LABEL, SLI_NAMES, type Slis } from '../engine/slis.ts';
import { timelineEntryFor } from '../state/timeline.ts';
import type { Journal } from './journal.ts';
import { printable } from './printable.ts';
import { makeRedactor } from './redact.ts';

export const VERDICT: Record<string, string> = {
  passed: 'The service held its SLOs for the whole experiment: its defences absorbed the fault.',
  breach: 'An SLO broke under the fault; gameday rolled back and the service recovered.',
  budget: 'The budget ran out; gameday stopped and rolled back.',
  stopped: 'The experiment was stopped (emergency stop or signal) and rolled back.',
  refused: 'Preflight or the baseline refused the experiment; nothing was injected.',
  'rollback-failed': '**Rollback failed or recovery was not verified: check the system by hand.**',
};

export function worstTick(events: readonly GamedayEvent[]): Slis | null {
  let worst: { slis: Slis; score: number } | null = null;
  for (const e of events)
    if (e.type === 'tick' && (!worst || e.impact.score > worst.score)) worst = { slis: e.slis, score: e.impact.score };
  return worst?.slis ?? null;
}

/**
 * The report, each line redacted and shown without control characters: a journal is redacted when
 * written, but one written by an older gameday or by hand may not be, and a name or a note may hold
 * ESC or a newline.
 */
export function renderReport(j: Journal, redact: (text: string) => string = makeRedactor()): string {
  const s = j.summary;
  const plan = j.plan as { slo?: Record<string, number>; fault?: { type?: string }; traffic?: { rps?: number }; targetUrl?: string };
  const lines: string[] = [`# Game day report: ${j.name}`, ''];
  lines.push(`- Experiment id: \`${j.experimentId}\``, `- Started: ${j.startedAt}`);
  lines.push(`- Target: ${plan.targetUrl ?? 'embedded demo'} · fault: ${plan.fault?.type ?? '?'} · ${plan.traffic?.rps ?? '?'} rps`);
  lines.push('');
  if (!s) {
    lines.push('The journal has no summary: the run did not finish (its controller may have died).', '');
    if (j.tornLastLine) lines.push('Its last line was cut short as it was written, and is left out.', '');
  } else {
    lines.push('## Outcome', '', `**${s.status}** (exit ${s.exitCode}): ${s.reason}`, '', VERDICT[s.status] ?? '', '');
    lines.push('| measure | value |', '|---|---|');
    lines.push(`| detection time | ${s.detectionMs === null ? '–' : formatDurationMs(s.detectionMs)} |`);
    lines.push(`| recovery time | ${s.recoveryMs === null ? '–' : formatDurationMs(s.recoveryMs)} |`);
    lines.push(`| peak impact | ${s.peakImpact} / 100 |`);
    lines.push(`| spent | $${s.spentUsd.toFixed(3)} for ${s.requests} requests |`);
    lines.push(`| fault removed | ${s.faultRemoved ? 'yes' : '**NO**'} |`);
    lines.push(`| duration | ${formatDurationMs(s.durationMs)} |`, '');
  }
  const worst = worstTick(j.events);
  if (worst && plan.slo) {
    lines.push('## SLIs at the worst moment', '', '| SLI | value | objective |', '|---|---|---|');
    for (const name of SLI_NAMES) {
      const thr = plan.slo[name];
      lines.push(`| ${SLI_LABEL[name]} | ${formatSli(name, worst[name])} | ${thr === undefined ? '–' : formatSli(name, thr)} |`);
    }
    lines.push('');
  }
  lines.push('## Timeline', '');
  const t0 = j.events[0]?.ts ?? 0;
  for (const e of j.events) {
    const entry = timelineEntryFor(e);
    if (entry && e.type !== 'summary') {
      lines.push(
        `- \`+${formatDurationMs(e.ts - t0)}\` ${entry.text}${entry.durationMs !== undefined ? ` (${formatDurationMs(entry.durationMs)})` : ''}`,
      );
    }
  }
  // readJournal keeps a bounded number of events
  if (j.omittedEvents) lines.push(`- … ${j.omittedEvents} more events not shown`);
  const notes = j.events.filter((e) => e.type === 'note' && e.source === 'user');
  if (notes.length) {
    lines.push('', '## Notes from the team', '');
    for (const n of notes) if (n.type === 'note') lines.push(`- ${n.text}`);
  }
  return lines.map((line) => printable(redact(line))).join('\n') + '\n';
}
