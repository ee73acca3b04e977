// SLO gauges: p95 latency, error rate, availability and health, each against its objective,
// coloured by how close it is, with a sparkline of the last 60 s (the worst value per cell).
import { Text } from 'ink';
import { useStore } from 'zustand';
import { useShallow } from 'zustand/react/shallow';
import { SLI_LABEL, SLI_NAMES, formatSli, isBreaching, needsSamples, type SliName, type SloThresholds } from '../src/engine/slis.ts';
import type { GamedayStore, SliPoint } from '../src/state/store.ts';
import { SLI_STATE_COLOR, tone, type SliState } from './colors.ts';
import { fit, int } from './format.ts';
import { innerWidth } from './layout.ts';
import { Pane } from './Pane.tsx';
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

export function SloPane({ store, width, bordered, flexGrow, roomy = false }: SloPaneProps) {
  const s = useStore(
    store,
    useShallow((st) => ({
      slis: st.slis,
      baseline: st.baseline,
      thresholds: st.thresholds,
      minSamples: st.minSamples,
      history: st.history,
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
      {SLI_NAMES.map((sli, i) => {
        const state = states[i];
        const color = tone(SLI_STATE_COLOR[state]);
        const value = s.slis ? formatSli(sli, s.slis[sli]) : '—';
        return (
          <Text key={sli} wrap="truncate-end">
            <Text bold>{fit(SLI_LABEL[sli], COL.label)}</Text>
            <Text bold color={color}>
              {fit(value, COL.value, 'right')}
            </Text>
            <Text>{'  '}</Text>
            <Text dimColor>{fit(objectiveText(sli, t[sli]), COL.objective)}</Text>
            <Text color={color}>{sliSparkline(sli, s.history, t[sli], sparkWidth)}</Text>
            <Text>{'  '}</Text>
            <Text bold={state === 'breach'} inverse={state === 'breach'} color={color}>
              {STATE_WORD[state]}
            </Text>
          </Text>
        );
      })}
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
