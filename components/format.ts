// Number formatting for the control room: dollars, clocks, counts, percentages. Pure.

/** "$12.34", "$1,234.56"; negative and non-finite values are shown as "$0.00" / "–". */
export function usd(value: number, digits = 2): string {
  if (!Number.isFinite(value)) return '–';
  const fixed = Math.max(0, value).toFixed(digits);
  const [whole, frac] = fixed.split('.');
  return `$${groupThousands(whole)}${frac ? `.${frac}` : ''}`;
}

/** A per-request price with as many decimals as it needs: "$0.001", "$0.0005". */
export function usdPrice(value: number): string {
  if (!Number.isFinite(value) || value <= 0) return '$0';
  if (value >= 0.01) return usd(value);
  const digits = Math.min(6, Math.max(3, -Math.floor(Math.log10(value)) + 1));
  return `$${value.toFixed(digits).replace(/0+$/, '')}`;
}

/** "12,340" */
export function int(value: number): string {
  if (!Number.isFinite(value)) return '–';
  return groupThousands(String(Math.round(value)));
}

function groupThousands(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** A wall clock for elapsed and remaining times: "0:05", "1:05", "1:02:03". */
export function clock(ms: number): string {
  if (!Number.isFinite(ms)) return '–';
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return h > 0 ? `${h}:${pad2(m)}:${pad2(s)}` : `${m}:${pad2(s)}`;
}

/** A timeline stamp relative to the run start, with tenths: "+0:35.2". */
export function stamp(ms: number): string {
  const safe = Math.max(0, Number.isFinite(ms) ? ms : 0);
  const tenths = Math.floor((safe % 1000) / 100);
  return `+${clock(safe)}.${tenths}`;
}

/** 0.254 → "25%"; clamps nothing, rounds down so 99.6 % never shows as 100 %. */
export function pct(fraction: number): string {
  if (!Number.isFinite(fraction)) return '–';
  return `${Math.floor(Math.max(0, fraction) * 100)}%`;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** Pads or cuts text to exactly `width` columns (the panes measure in code points, no wide glyphs). */
export function fit(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  if (width <= 0) return '';
  const chars = [...text];
  if (chars.length > width) return width === 1 ? '…' : chars.slice(0, width - 1).join('') + '…';
  const padding = ' '.repeat(width - chars.length);
  return align === 'left' ? text + padding : padding + text;
}
