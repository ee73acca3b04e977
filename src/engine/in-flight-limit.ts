// How many requests the traffic generator keeps in flight (= connections in use). Open-loop
// traffic needs rps × latency of them: a handful against a healthy target, hundreds while a
// latency fault is in. Connections are not free: on a loaded machine a thousand of them cut a
// loopback target's throughput to a third. So the limit starts small and doubles while requests
// wait for a slot because the target is slow; it halves when requests wait because the generator
// itself is saturated (more connections would only add work), and when it sits mostly unused.

/** Starting limit; also the floor it shrinks back to. */
export const INITIAL_IN_FLIGHT_LIMIT = 64;
/** At most one doubling per this interval: 64 → 512 in 300 ms. */
export const GROW_EVERY_MS = 100;
/** At most one halving for a saturated generator per this interval. */
export const BUSY_SHRINK_EVERY_MS = 1000;
/** Halve when the peak stayed under a quarter of the limit this long. */
export const SHRINK_AFTER_MS = 2000;
/**
 * Event-loop utilisation above which the generator itself is the bottleneck: requests wait for
 * a slot because responses are processed late, not because the target is slow, and more
 * connections would only add work.
 */
export const BUSY_LOOP_UTILIZATION = 0.8;

export interface InFlightLimit {
  limit: number;
  readonly floor: number;
  readonly max: number;
  /** last grow or shrink */
  changedAtMs: number;
  /** the current observation period (for shrinking) and the most requests in flight in it */
  periodStartMs: number;
  periodPeak: number;
}

export function createInFlightLimit(maxInFlight: number, nowMs: number): InFlightLimit {
  const floor = Math.min(maxInFlight, INITIAL_IN_FLIGHT_LIMIT);
  return { limit: floor, floor, max: maxInFlight, changedAtMs: -Infinity, periodStartMs: nowMs, periodPeak: 0 };
}

export interface LimitInput {
  nowMs: number;
  inFlight: number;
  /** due requests waiting for a slot */
  backlog: number;
  /** event-loop utilisation (0–1) since the previous call */
  loopUtilization: number;
}

/** Updates the limit in place (called about every GROW_EVERY_MS); returns it. */
export function adjustInFlightLimit(s: InFlightLimit, x: LimitInput): number {
  if (x.inFlight > s.periodPeak) s.periodPeak = x.inFlight;
  const starved = x.backlog > 0 && x.inFlight >= s.limit;
  const sinceChangeMs = x.nowMs - s.changedAtMs;
  if (starved) {
    const busy = x.loopUtilization >= BUSY_LOOP_UTILIZATION;
    if (!busy && s.limit < s.max && sinceChangeMs >= GROW_EVERY_MS) setLimit(s, x, s.limit * 2);
    else if (busy && s.limit > s.floor && sinceChangeMs >= BUSY_SHRINK_EVERY_MS) setLimit(s, x, s.limit / 2);
    startPeriod(s, x);
  } else if (x.nowMs - s.periodStartMs >= SHRINK_AFTER_MS) {
    if (s.periodPeak < s.limit / 4 && s.limit > s.floor) setLimit(s, x, s.limit / 2);
    startPeriod(s, x);
  }
  return s.limit;
}

function setLimit(s: InFlightLimit, x: LimitInput, limit: number): void {
  s.limit = Math.min(s.max, Math.max(s.floor, Math.ceil(limit)));
  s.changedAtMs = x.nowMs;
}

function startPeriod(s: InFlightLimit, x: LimitInput): void {
  s.periodStartMs = x.nowMs;
  s.periodPeak = x.inFlight;
}
