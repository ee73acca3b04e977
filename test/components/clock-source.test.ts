// The screen's clock is the state's (nowMs, set from each event's time), never the wall clock: so a
// replay shows elapsed times, the fault window and the timeline as the run showed them. Only the
// redraw pacing (throttled-store.ts) may read the wall clock.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const DIR = new URL('../../components/', import.meta.url);
const WALL_CLOCK = /\bDate\.now\(|\bnew Date\(|\bperformance\.now\(/;
/** what may read it, and why: how often the screen redraws is wall-clock business */
const ALLOWED = new Set(['throttled-store.ts']);

describe('the control room’s clock', () => {
  it('no component reads the wall clock, but the redraw pacing', () => {
    const files = readdirSync(DIR).filter((f) => /\.tsx?$/.test(f));
    expect(files.length).toBeGreaterThan(10);
    const reading = files.filter((f) => WALL_CLOCK.test(readFileSync(new URL(f, DIR), 'utf8')));
    expect(reading.filter((f) => !ALLOWED.has(f))).toEqual([]);
    expect(reading).toEqual([...ALLOWED]);
  });
});
