// Open-loop schedule maths. Request i of a segment is due at a fixed time whatever happened to the
// requests before it, so a slow target cannot slow the sender down and hide its own slowness.

/** A constant rate: request 0 is due at `startMs`, then one every 1000/rps ms. */
export interface Schedule {
  readonly startMs: number;
  readonly rps: number;
}

export function createSchedule(startMs: number, rps: number): Schedule {
  return { startMs, rps };
}

/** Scheduled send time of the i-th request (counted from 0) of a segment starting at `startMs`. */
export function sendTimeMs(startMs: number, rps: number, i: number): number {
  return rps > 0 ? startMs + (i * 1000) / rps : Infinity;
}

/** How many requests of a segment starting at `startMs` are due at `nowMs` (send time ≤ now). */
export function dueCount(startMs: number, rps: number, nowMs: number): number {
  if (!(rps > 0) || nowMs < startMs) return 0;
  return Math.floor(((nowMs - startMs) * rps) / 1000) + 1;
}

/** Scheduled send time of request `index` in a schedule. */
export function scheduledAtMs(s: Schedule, index: number): number {
  return sendTimeMs(s.startMs, s.rps, index);
}

/** Count of requests due at `nowMs`: every index below it is due. */
export function dueTotal(s: Schedule, nowMs: number): number {
  return dueCount(s.startMs, s.rps, nowMs);
}
