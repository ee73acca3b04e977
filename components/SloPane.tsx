// SLO gauges: p95 latency, error rate, availability and health, each against its objective,
// coloured by how close it is, with a sparkline of the last 60 s (the worst value per cell).
import { Text } from 'ink';
import { useStore } from 'zustand';
import { useShallow } from 'zustand/react/shallow';
import type { GuardView } from '../src/engine/events.ts';
import {
  SLI_LABEL,
  SLI_NAMES,
  formatGuardValue,
  formatSli,
  isBreaching,
  needsSamples,
  type SliName,
  type SloThresholds,
} from '../src/engine/slis.ts';
import type { GamedayStore, SliPoint } from '../src/state/store.ts';
import { SLI_STATE_COLOR, tone, type SliState } from './colors.ts';
import { fit, int } from './format.ts';
import { innerWidth } from './layout.ts';
import { Pane } from './Pane.tsx';
import { shown } from './shown.ts';
import { sparkline } from './sparkline.ts';

export interface SloPaneProps {
  store: GamedayStore;
  width: number;
  bordered: boolean;
  flexGrow?: number;
  /** two footer lines (window; baseline) after a blank line, instead of one: see layout.sloLines */
  roomy?: boolean;
}

const COL = { label: 13, value: 9, objective: 11, state: 6 };
/** "near" from this share of the way to the objective (health: from the first failed probe) */
const NEAR_PRESSURE = 0.8;

/** How hard an SLI presses against its objective: 1 = at the threshold. */
function pressure(sli: SliName, value: number, threshold: number): number {
  switch (sli) {
    case 'availability':
      return threshold >= 1 ? (value < 1 ? Infinity : 0) : (1 - value) / (1 - threshold);
    default:
      return threshold > 0 ? value / threshold : value > 0 ? Infinity : 0;
  }
}

/**
 * Breach semantics are the engine's (isBreaching). With fewer samples than the engine needs
 * (`enoughSamples` false) it does not judge latency, errors or availability: a value past its
 * objective is then 'low' (too few requests), never 'breach'. Health needs no samples.
 */
export function sliState(sli: SliName, value: number | undefined, threshold: number, enoughSamples = true): SliState {
  if (value === undefined || !Number.isFinite(value)) return 'unknown';
  if (isBreaching(sli, value, threshold)) return enoughSamples || !needsSamples(sli) ? 'breach' : 'low';
  if (sli === 'healthFailures') return value > 0 ? 'near' : 'ok';
  return pressure(sli, value, threshold) >= NEAR_PRESSURE ? 'near' : 'ok';
}

function objectiveText(sli: SliName, threshold: number): string {
  switch (sli) {
    case 'p95LatencyMs':
      return `≤ ${formatSli(sli, threshold)}`;
    case 'errorRate':
      return `≤ ${formatSli(sli, threshold)}`;
    case 'availability':
      return `≥ ${formatSli(sli, threshold)}`;
    case 'healthFailures':
      return `< ${formatSli(sli, threshold)}`;
  }
}

const STATE_WORD: Record<SliState, string> = { unknown: '—', ok: 'ok', near: 'near', low: 'low n', breach: 'BREACH' };

/** The last 60 s of one SLI as a sparkline scaled so the objective sits in view. */
export function sliSparkline(sli: SliName, history: readonly SliPoint[], threshold: number, width: number): string {
  const values = history.map((p) => p[sli]);
  const finite = values.filter((v) => Number.isFinite(v));
  if (sli === 'availability') {
    const floor = Math.min(threshold - (1 - threshold), ...(finite.length ? finite : [1]));
    return sparkline(values, { width, min: floor, max: 1, reduce: 'min' });
  }
  const top = Math.max(threshold, ...(finite.length ? finite : [0]));
  return sparkline(values, { width, min: 0, max: top, reduce: 'max' });
}

/** One built-in SLI's line: its value, its objective, the last 60 s, and its state. */
function SliRow(p: {
  sli: SliName;
  state: SliState;
  value: number | undefined;
  threshold: number;
  history: readonly SliPoint[];
  sparkWidth: number;
}) {
  const color = tone(SLI_STATE_COLOR[p.state]);
  return (
    <Text wrap="truncate-end">
      <Text bold>{fit(SLI_LABEL[p.sli], COL.label)}</Text>
      <Text bold color={color}>
        {fit(p.value === undefined ? '—' : formatSli(p.sli, p.value), COL.value, 'right')}
      </Text>
      <Text>{'  '}</Text>
      <Text dimColor>{fit(objectiveText(p.sli, p.threshold), COL.objective)}</Text>
      <Text color={color}>{sliSparkline(p.sli, p.history, p.threshold, p.sparkWidth)}</Text>
      <Text>{'  '}</Text>
      <Text bold={p.state === 'breach'} inverse={p.state === 'breach'} color={color}>
        {STATE_WORD[p.state]}
      </Text>
    </Text>
  );
}

const GUARD_STATE: Record<GuardView['state'], SliState> = { ok: 'ok', breach: 'breach', inconclusive: 'unknown' };

/** A PromQL guard's line: its value, its bound, the last 60 s, and its state (`?` when it cannot judge). */
function GuardRow({ guard: g, history, sparkWidth }: { guard: GuardView; history: readonly SliPoint[]; sparkWidth: number }) {
  const state = GUARD_STATE[g.state];
  const color = tone(SLI_STATE_COLOR[state]);
  const values = history.map((p) => p.guards?.[g.name] ?? NaN);
  const finiteValues = values.filter((v) => Number.isFinite(v));
  const spark =
    g.kind === 'max'
      ? sparkline(values, { width: sparkWidth, min: 0, max: Math.max(g.bound, ...finiteValues), reduce: 'max' })
      : sparkline(values, { width: sparkWidth, min: Math.min(0, ...finiteValues), max: Math.max(g.bound, ...finiteValues), reduce: 'min' });
  return (
    <Text wrap="truncate-end">
      <Text bold>{fit(shown(g.name), COL.label)}</Text>
      <Text bold color={color}>
        {fit(g.value === null ? '—' : formatGuardValue(g.value), COL.value, 'right')}
      </Text>
      <Text>{'  '}</Text>
      <Text dimColor>{fit(`${g.kind === 'max' ? '≤' : '≥'} ${formatGuardValue(g.bound)}`, COL.objective)}</Text>
      <Text color={color}>{spark}</Text>
      <Text>{'  '}</Text>
      <Text bold={state === 'breach'} inverse={state === 'breach'} color={color}>
        {g.state === 'inconclusive' ? '?' : STATE_WORD[state]}
      </Text>
    </Text>
  );
}

export function SloPane({ store, width, bordered, flexGrow, roomy = false }: SloPaneProps) {
  const s = useStore(
    store,
    useShallow((st) => ({
      slis: st.slis,
      baseline: st.baseline,
      thresholds: st.thresholds,
      minSamples: st.minSamples,
      history: st.history,
      guards: st.guards,
    })),
  );
  const inner = innerWidth(width, bordered);
  const sparkWidth = Math.max(4, inner - COL.label - COL.value - COL.objective - COL.state - 4);
  const t: SloThresholds = s.thresholds;
  const enoughSamples = s.slis !== null && s.slis.samples >= s.minSamples;
  const states = SLI_NAMES.map((sli) => sliState(sli, s.slis?.[sli], t[sli], enoughSamples));
  const breaching = states.filter((x) => x === 'breach').length;
  const windowText = s.slis ? `window: n ${int(s.slis.samples)} · ${int(s.slis.throughputRps)} req/s` : 'no window yet';
  const baselineText = s.baseline
    ? `baseline: p95 ${formatSli('p95LatencyMs', s.baseline.p95LatencyMs)} · err ${formatSli('errorRate', s.baseline.errorRate)} · ` +
      `avail ${formatSli('availability', s.baseline.availability)}`
    : '';
  const note = !s.slis
    ? 'waiting for data'
    : breaching
      ? `${breaching} BREACHING`
      : enoughSamples
        ? 'all within SLO'
        : `low n: judged from ${int(s.minSamples)} requests`;

  return (
    <Pane title="SLOs" note={note} width={width} bordered={bordered} flexGrow={flexGrow} color={breaching ? 'red' : undefined}>
      <Text dimColor wrap="truncate-end">
        {fit('SLI', COL.label) +
          fit('now', COL.value, 'right') +
          '  ' +
          fit('objective', COL.objective) +
          fit('last 60s', sparkWidth) +
          '  ' +
          'state'}
      </Text>
      {SLI_NAMES.map((sli, i) => (
        <SliRow
          key={sli}
          sli={sli}
          state={states[i]}
          value={s.slis?.[sli]}
          threshold={t[sli]}
          history={s.history}
          sparkWidth={sparkWidth}
        />
      ))}
      {s.guards.map((g) => (
        <GuardRow key={g.name} guard={g} history={s.history} sparkWidth={sparkWidth} />
      ))}
      {roomy ? (
        <>
          <Text> </Text>
          <Text dimColor wrap="truncate-end">
            {windowText}
          </Text>
          <Text dimColor wrap="truncate-end">
            {baselineText || 'baseline: not measured yet'}
          </Text>
        </>
      ) : (
        <Text dimColor wrap="truncate-end">
          {windowText + (baselineText ? ` · ${baselineText}` : '')}
        </Text>
      )}
    </Pane>
  );
}
