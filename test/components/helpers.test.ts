import { afterEach, describe, expect, it } from 'vitest';
import { BAR_EMPTY, BAR_FULL, barParts, stackedBarParts } from '../../components/bar.ts';
import { colorsEnabled, levelFor, tone } from '../../components/colors.ts';
import { clock, fit, int, pct, stamp, usd, usdPrice } from '../../components/format.ts';
import { computeLayout, innerWidth, terminalSize } from '../../components/layout.ts';
import { SPARK_TICKS, resample, sparkline } from '../../components/sparkline.ts';

describe('bar', () => {
  /** the whole bar, filled then empty, as the panes draw it */
  const bar = (fraction: number, width: number) => {
    const { filled, empty } = barParts(fraction, width);
    return filled + empty;
  };
  it('is exactly as wide as asked, filled in proportion', () => {
    expect(bar(0, 10)).toBe(BAR_EMPTY.repeat(10));
    expect(bar(1, 10)).toBe(BAR_FULL.repeat(10));
    expect(bar(0.5, 10)).toBe(BAR_FULL.repeat(5) + BAR_EMPTY.repeat(5));
    for (const f of [0.01, 0.33, 0.625, 0.99]) expect([...bar(f, 17)]).toHaveLength(17);
  });
  it('uses eighth blocks for the partial cell and clamps', () => {
    expect(barParts(0.25, 2).filled).toBe('▌');
    expect(barParts(0.0625, 2).filled).toBe('▏');
    expect(bar(2, 4)).toBe(BAR_FULL.repeat(4));
    expect(bar(-1, 4)).toBe(BAR_EMPTY.repeat(4));
    expect(bar(Number.NaN, 3)).toBe(BAR_EMPTY.repeat(3));
    expect(bar(0.5, 0)).toBe('');
  });
  it('stacks a reserved segment after the spent one', () => {
    const parts = stackedBarParts(0.2, 0.3, 10);
    expect(parts.filled).toBe('██');
    expect(parts.reserved).toBe('▒▒▒');
    expect(parts.empty).toBe('░░░░░');
    const over = stackedBarParts(0.8, 0.5, 10);
    expect(over.filled.length + over.reserved.length + over.empty.length).toBe(10);
  });
});

describe('sparkline', () => {
  it('maps the range onto ▁ … █', () => {
    expect(sparkline([0, 1, 2, 3, 4, 5, 6, 7])).toBe(SPARK_TICKS.join(''));
    expect(sparkline([5, 5, 5])).toBe('▁▁▁');
  });
  it('uses the given min and max and clamps outside them', () => {
    expect(sparkline([0, 50, 100, 200], { min: 0, max: 100 })).toBe('▁▅██');
  });
  it('pads a short series on the left and buckets a long one (worst per cell)', () => {
    expect(sparkline([0, 7], { width: 5 })).toBe('   ▁█');
    const long = Array.from({ length: 100 }, (_, i) => (i === 42 ? 10 : 0));
    const line = sparkline(long, { width: 10, min: 0, max: 10 });
    expect([...line]).toHaveLength(10);
    expect(line).toBe('▁▁▁▁█▁▁▁▁▁');
    expect(resample([1, 2, 3, 4], 2, 'min')).toEqual([1, 3]);
    expect(resample([1, 2, 3, 4], 2, 'mean')).toEqual([1.5, 3.5]);
  });
  it('leaves non-finite values blank', () => {
    expect(sparkline([0, Number.NaN, 1])).toBe('▁ █');
  });
});

describe('format', () => {
  it('formats dollars, prices, counts and clocks', () => {
    expect(usd(12.345)).toBe('$12.35');
    expect(usd(1234.5)).toBe('$1,234.50');
    expect(usd(0)).toBe('$0.00');
    expect(usdPrice(0.001)).toBe('$0.001');
    expect(usdPrice(0.0005)).toBe('$0.0005');
    expect(usdPrice(0.25)).toBe('$0.25');
    expect(int(31200)).toBe('31,200');
    expect(clock(65_000)).toBe('1:05');
    expect(clock(3_723_000)).toBe('1:02:03');
    expect(stamp(35_250)).toBe('+0:35.2');
    expect(pct(0.999)).toBe('99%');
  });
  it('fits text to a width', () => {
    expect(fit('abc', 5)).toBe('abc  ');
    expect(fit('abc', 5, 'right')).toBe('  abc');
    expect(fit('abcdef', 4)).toBe('abc…');
  });
});

describe('colors', () => {
  const saved = process.env.NO_COLOR;
  afterEach(() => {
    if (saved === undefined) delete process.env.NO_COLOR;
    else process.env.NO_COLOR = saved;
  });
  it('changes level at 50, 80 and 100 %', () => {
    expect(levelFor(0.49)).toBe('ok');
    expect(levelFor(0.5)).toBe('warn');
    expect(levelFor(0.79)).toBe('warn');
    expect(levelFor(0.8)).toBe('high');
    expect(levelFor(1)).toBe('over');
  });
  it('drops every colour under NO_COLOR (set and not empty)', () => {
    delete process.env.NO_COLOR;
    expect(tone('red')).toBe('red');
    process.env.NO_COLOR = '1';
    expect(colorsEnabled()).toBe(false);
    expect(tone('red')).toBeUndefined();
    process.env.NO_COLOR = '';
    expect(tone('red')).toBe('red');
  });
});

describe('layout', () => {
  it('falls back to 80×24 without a terminal size', () => {
    expect(terminalSize(undefined)).toEqual({ columns: 80, rows: 24 });
    expect(terminalSize({ columns: 0, rows: 0 })).toEqual({ columns: 80, rows: 24 });
  });
  it('uses two columns from 100 columns wide', () => {
    expect(computeLayout({ columns: 99, rows: 40, view: 'run', preflightChecks: 0 }).twoColumns).toBe(false);
    const wide = computeLayout({ columns: 120, rows: 40, view: 'run', preflightChecks: 0 });
    expect(wide.twoColumns).toBe(true);
    expect(wide.leftWidth + wide.rightWidth + wide.gap).toBe(120);
  });
  it('keeps the live region shorter than the terminal, dropping borders when short', () => {
    for (const columns of [60, 80, 100, 120, 200]) {
      for (const rows of [16, 20, 24, 30, 40, 60]) {
        for (const view of ['run', 'summary', 'help'] as const) {
          const l = computeLayout({ columns, rows, view, preflightChecks: view === 'run' ? 6 : 0 });
          expect(l.maxHeight).toBe(rows - 1);
          expect(l.width).toBeLessThanOrEqual(columns);
        }
      }
    }
    expect(computeLayout({ columns: 80, rows: 24, view: 'run', preflightChecks: 0 }).bordered).toBe(false);
    expect(computeLayout({ columns: 80, rows: 50, view: 'run', preflightChecks: 0 }).bordered).toBe(true);
  });
  it('gives SLOs and impact room to the checklist in one column while nothing is measured', () => {
    const narrow = computeLayout({ columns: 80, rows: 24, view: 'run', preflightChecks: 6, preflightPhase: true });
    expect(narrow.mainPanes).toBe('budget');
    expect(narrow.preflightLines).toBe(6);
    expect(computeLayout({ columns: 120, rows: 24, view: 'run', preflightChecks: 6, preflightPhase: true }).mainPanes).toBe('all');
    expect(computeLayout({ columns: 80, rows: 24, view: 'run', preflightChecks: 6 }).mainPanes).toBe('all');
  });
  it('gives the timeline what is left', () => {
    const a = computeLayout({ columns: 120, rows: 30, view: 'run', preflightChecks: 0 });
    const b = computeLayout({ columns: 120, rows: 40, view: 'run', preflightChecks: 0 });
    expect(b.timelineEntries - a.timelineEntries).toBe(10);
    expect(innerWidth(50, true)).toBe(46);
    expect(innerWidth(50, false)).toBe(50);
  });
});
