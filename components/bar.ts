// Text progress bars. Pure: the panes colour the parts.

const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
export const BAR_FULL = '█';
export const BAR_EMPTY = '░';
const BAR_RESERVED = '▒';

export interface BarParts {
  /** whole and partial blocks for the value */
  filled: string;
  /** the rest of the width */
  empty: string;
}

/** Splits a bar of exactly `width` cells into its filled and empty parts, with eighth-block precision. */
export function barParts(fraction: number, width: number): BarParts {
  const cells = Math.max(0, Math.floor(width));
  if (cells === 0) return { filled: '', empty: '' };
  const f = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
  const eighths = Math.round(f * cells * 8);
  const whole = Math.floor(eighths / 8);
  const partial = EIGHTHS[eighths % 8];
  const filled = BAR_FULL.repeat(whole) + partial;
  const used = whole + (partial ? 1 : 0);
  return { filled, empty: BAR_EMPTY.repeat(cells - used) };
}

export interface StackedBarParts {
  filled: string;
  reserved: string;
  empty: string;
}

/** A bar with a second, lighter segment after the first (spent, then reserved by others). Whole cells only. */
export function stackedBarParts(first: number, second: number, width: number): StackedBarParts {
  const cells = Math.max(0, Math.floor(width));
  const clamp = (v: number) => (Number.isFinite(v) ? Math.min(1, Math.max(0, v)) : 0);
  const a = Math.round(clamp(first) * cells);
  const b = Math.min(cells - a, Math.round(clamp(first + second) * cells) - a);
  return { filled: BAR_FULL.repeat(a), reserved: BAR_RESERVED.repeat(Math.max(0, b)), empty: BAR_EMPTY.repeat(cells - a - Math.max(0, b)) };
}
