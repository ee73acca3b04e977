// Threshold colours. NO_COLOR (https://no-color.org: set and not empty) turns every colour off; Ink's
// chalk does not read it, so the panes pass every colour through `tone`, which drops it. Bold, dim
// and inverse are kept: they are not colours, and they keep the alarms visible in monochrome.
import type { ImpactBand } from '../src/engine/events.ts';

export function colorsEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  const noColor = env.NO_COLOR;
  return noColor === undefined || noColor === '';
}

/** The colour, or undefined when colours are off. */
export function tone(color: string | undefined): string | undefined {
  return color !== undefined && colorsEnabled() ? color : undefined;
}

/** Budget levels: below 50 %, from 50 %, from 80 %, at or over 100 % of a cap. */
export type Level = 'ok' | 'warn' | 'high' | 'over';

export function levelFor(fraction: number): Level {
  if (!Number.isFinite(fraction) || fraction < 0.5) return 'ok';
  if (fraction < 0.8) return 'warn';
  if (fraction < 1) return 'high';
  return 'over';
}

const LEVEL_COLOR: Record<Level, string> = {
  ok: 'green',
  warn: 'yellow',
  high: '#ff8700',
  over: 'red',
};

export function levelColor(fraction: number): string | undefined {
  return tone(LEVEL_COLOR[levelFor(fraction)]);
}

/** An SLI against its objective. 'low': past it, but on too few samples for the engine to judge. */
export type SliState = 'unknown' | 'ok' | 'near' | 'low' | 'breach';

export const SLI_STATE_COLOR: Record<SliState, string> = {
  unknown: 'gray',
  ok: 'green',
  near: 'yellow',
  low: 'yellow',
  breach: 'red',
};

export const BAND_COLOR: Record<ImpactBand, string> = {
  none: 'green',
  low: 'green',
  moderate: 'yellow',
  high: '#ff8700',
  critical: 'red',
};

/** Accent colours used for chrome (titles, borders, the phase track). */
export const ACCENT = {
  border: 'gray',
  title: 'cyan',
  key: 'cyan',
  phase: 'cyan',
  danger: 'red',
  note: 'blue',
} as const;
