// The in-flight limiter against simulated targets, millisecond by millisecond: open-loop arrivals
// into a backlog (dropped unsent past the timeout, as the generator does), sends while under the
// limit, a target that answers the oldest requests once they are old enough and as fast as its
// capacity at that concurrency allows, and the transport's timeout freeing slots unanswered.
import { describe, expect, it } from 'vitest';
import {
  adjustInFlightLimit,
  createInFlightLimit,
  HOLD_MS,
  INITIAL_IN_FLIGHT_LIMIT,
  latencySizedLimit,
  SAMPLE_EVERY_MS,
  type InFlightLimit,
} from '../../src/engine/in-flight-limit.ts';

interface SimTarget {
  /** how long a request must have been at the target before it can be answered */
  latencyMs(tMs: number): number;
  /** answers per second it can give with n requests in it; 0 = stalled */
  capacity(n: number, tMs: number): number;
}

interface Trace {
  tMs: number;
  limit: number;
  inFlight: number;
  backlog: number;
  /** answers per second over the last sample */
  answeredRps: number;
}

interface SimResult {
  trace: Trace[];
  /** most requests in flight at once, per sample (same index as trace) */
  peaks: number[];
  dropped: number;
  limiter: InFlightLimit;
}

function simulate(target: SimTarget, o: { rps: number; ms: number; maxInFlight?: number; timeoutMs?: number }): SimResult {
  const timeoutMs = o.timeoutMs ?? 2000;
  const limiter = createInFlightLimit(o.maxInFlight ?? 2000, 0);
  const backlog: number[] = [];
  const inFlight: number[] = []; // send times, oldest first
  const trace: Trace[] = [];
  const peaks: number[] = [];
  let scheduled = 0;
  let dropped = 0;
  let tokens = 0;
  let answered = 0;
  let answeredMs = 0;
  let peak = 0;
  for (let t = 1; t <= o.ms; t++) {
    for (const due = Math.floor((t * o.rps) / 1000); scheduled < due; scheduled++) backlog.push(t);
    while (backlog.length > 0 && t - backlog[0] >= timeoutMs) {
      backlog.shift();
      dropped++;
    }
    const perMs = target.capacity(inFlight.length, t) / 1000;
    tokens = Math.min(tokens + perMs, Math.max(1, perMs * 5));
    while (inFlight.length > 0 && tokens >= 1 && t - inFlight[0] >= target.latencyMs(t)) {
      answeredMs += t - inFlight.shift()!;
      answered++;
      tokens--;
    }
    while (inFlight.length > 0 && t - inFlight[0] >= timeoutMs) inFlight.shift(); // the transport gives up: no answer
    // a freed slot is taken at once, as the generator drains its backlog when a request is done
    while (backlog.length > 0 && inFlight.length < limiter.limit) {
      backlog.shift();
      inFlight.push(t);
    }
    peak = Math.max(peak, inFlight.length);
    if (t % SAMPLE_EVERY_MS === 0) {
      adjustInFlightLimit(limiter, { nowMs: t, rps: o.rps, inFlight: inFlight.length, backlog: backlog.length, answered, answeredMs });
      trace.push({
        tMs: t,
        limit: limiter.limit,
        inFlight: inFlight.length,
        backlog: backlog.length,
        answeredRps: answered * (1000 / SAMPLE_EVERY_MS),
      });
      peaks.push(peak);
      answered = 0;
      answeredMs = 0;
      peak = 0;
    }
  }
  return { trace, peaks, dropped, limiter };
}

const between = (r: SimResult, fromMs: number, toMs: number): Trace[] => r.trace.filter((x) => x.tMs > fromMs && x.tMs <= toMs);
const meanRate = (xs: Trace[]): number => xs.reduce((a, x) => a + x.answeredRps, 0) / xs.length;
const maxOf = (xs: number[]): number => Math.max(...xs);
/** times the limit went up */
const rises = (xs: Trace[]): number => xs.filter((x, i) => i > 0 && x.limit > xs[i - 1].limit).length;

/** answers each request after latencyMs, whatever the concurrency (a pure delay: a latency fault) */
const delay = (latencyMs: (t: number) => number, stalled: (t: number) => boolean = () => false): SimTarget => ({
  latencyMs,
  capacity: (_n, t) => (stalled(t) ? 0 : Infinity),
});

describe('in-flight limit', () => {
  it('starts at the floor, capped by maxInFlight', () => {
    expect(createInFlightLimit(1000, 0).limit).toBe(INITIAL_IN_FLIGHT_LIMIT);
    expect(createInFlightLimit(4, 0).limit).toBe(4);
  });

  it('sizes from latency: rate × mean latency × 2, plus a few', () => {
    expect(latencySizedLimit(100, 800)).toBe(164);
    expect(latencySizedLimit(1000, 3)).toBe(10);
    expect(latencySizedLimit(0, 800)).toBe(4);
  });

  it('rising then flat throughput: grows while answers per second rise, then stays near the knee', () => {
    // 20 answers/s per request in flight (50 ms each) up to 2000/s: the knee is at 100 in flight.
    const r = simulate({ latencyMs: () => 50, capacity: () => 2000 }, { rps: 3000, ms: 30_000 });
    const late = between(r, 5_000, 30_000);
    expect(maxOf(late.map((x) => x.limit))).toBeGreaterThanOrEqual(100);
    // probes past the knee are undone: near it nearly all the time, and only briefly (a probe)
    // more than a few times over it
    expect(late.filter((x) => x.limit <= 128).length / late.length).toBeGreaterThan(0.9);
    expect(maxOf(r.trace.map((x) => x.limit))).toBeLessThanOrEqual(4 * 100);
    expect(maxOf(r.peaks)).toBeLessThanOrEqual(4 * 100);
    expect(meanRate(between(r, 20_000, 30_000))).toBeGreaterThan(0.95 * 2000);
    // ever rarer probes (the hold doubles after each that did not pay)
    expect(rises(between(r, 15_000, 30_000))).toBeLessThanOrEqual(3);
  });

  it('rising then falling throughput (a connection storm hurts it): no storm', () => {
    // 2000/s at up to 100 in flight, then less the more there are: 1000/s at 200, 200/s at 1000.
    const storm: SimTarget = { latencyMs: () => 50, capacity: (n) => (n <= 100 ? 2000 : (2000 * 100) / n) };
    const r = simulate(storm, { rps: 3000, ms: 30_000 });
    // a probe (×4, then ×2) now and then, each undone: the rate fell, or rose less than half as
    // much as the requests in flight did (1562/s at 128, against 1280/s at 64)
    expect(maxOf(r.trace.map((x) => x.limit))).toBeLessThanOrEqual(256);
    expect(maxOf(r.peaks)).toBeLessThanOrEqual(256);
    expect(r.limiter.limit).toBe(INITIAL_IN_FLIGHT_LIMIT);
    expect(between(r, 10_000, 30_000).filter((x) => x.limit > INITIAL_IN_FLIGHT_LIMIT).length).toBeLessThanOrEqual(20);
    // what 64 in flight get (1280/s), give or take the probes; the old doubling limiter, at its
    // cap, would have got 2000 × 100 / 2000 = 100/s
    expect(meanRate(between(r, 20_000, 30_000))).toBeGreaterThan(1200);
  });

  it('a latency fault: grows to rate × latency within a few latencies, never past what latency says, and back down after', () => {
    // 400 rps; 5 ms, then 800 ms from 3 s to 12 s (320 in flight needed), then 5 ms again
    const r = simulate(
      delay((t) => (t >= 3_000 && t < 12_000 ? 800 : 5)),
      { rps: 400, ms: 20_000 },
    );
    expect(maxOf(between(r, 0, 3_000).map((x) => x.limit))).toBe(INITIAL_IN_FLIGHT_LIMIT);
    const fault = between(r, 3_000, 12_000);
    const reachedAt = fault.find((x) => x.limit >= 320)?.tMs ?? Infinity;
    expect(reachedAt - 3_000).toBeLessThan(4_000);
    expect(maxOf(fault.map((x) => x.limit))).toBeLessThanOrEqual(latencySizedLimit(400, 800));
    // once there, nothing waits: the offered rate is answered in full
    expect(meanRate(between(r, 9_000, 12_000))).toBeGreaterThan(0.97 * 400);
    expect(between(r, 9_000, 12_000).every((x) => x.backlog === 0)).toBe(true);
    // the fault out: back to the floor within a few seconds
    expect(between(r, 16_000, 20_000).every((x) => x.limit === INITIAL_IN_FLIGHT_LIMIT)).toBe(true);
  });

  it('a stall: no growth while nothing is answered, in flight bounded, the shortfall dropped unsent; then recovery', () => {
    // 1000 rps at 3 ms (3 in flight needed); the target answers nothing from 2 s to 5 s
    const r = simulate(
      delay(
        () => 3,
        (t) => t >= 2_000 && t < 5_000,
      ),
      { rps: 1000, ms: 10_000 },
    );
    // Not during the stall, nor in the burst of answers after it (the target catching up, not the
    // limit paying off): the limit never moves, and in flight never exceeds it.
    expect(r.trace.every((x) => x.limit === INITIAL_IN_FLIGHT_LIMIT)).toBe(true);
    expect(maxOf(r.peaks)).toBe(INITIAL_IN_FLIGHT_LIMIT);
    // requests that could not be sent waited, and those past the 2 s timeout were dropped unsent
    expect(r.dropped).toBeGreaterThan(500);
    // and the backlog is gone in a few hundred ms once the target answers again
    expect(between(r, 5_500, 10_000).every((x) => x.backlog === 0)).toBe(true);
    expect(meanRate(between(r, 6_000, 10_000))).toBeGreaterThan(990);
  });

  it('a slow spell of the target (its capacity falls): one probe, undone, not credited with the recovery', () => {
    // 1000 rps at 5 ms; from 2 s to 3.5 s the target answers only 300/s (starved of CPU, say)
    const r = simulate({ latencyMs: () => 5, capacity: (_n, t) => (t >= 2_000 && t < 3_500 ? 300 : 5000) }, { rps: 1000, ms: 8_000 });
    expect(rises(r.trace)).toBe(1);
    expect(maxOf(r.trace.map((x) => x.limit))).toBeLessThanOrEqual(4 * INITIAL_IN_FLIGHT_LIMIT);
    // undone before the spell ends (judged at the latency seen when it began, not the growing one)
    expect(between(r, 3_000, 8_000).every((x) => x.limit === INITIAL_IN_FLIGHT_LIMIT)).toBe(true);
    expect(between(r, 4_000, 8_000).every((x) => x.backlog === 0)).toBe(true);
  });

  it('near a target’s capacity a probe is small: the need is barely above what is in flight', () => {
    // 2000/s at most, from 64 in flight on (32 ms each below that); offered 2100 rps
    const r = simulate({ latencyMs: () => 32, capacity: () => 2000 }, { rps: 2100, ms: 20_000 });
    expect(maxOf(r.trace.map((x) => x.limit))).toBeLessThanOrEqual(100);
    expect(r.limiter.limit).toBe(INITIAL_IN_FLIGHT_LIMIT);
  });

  it('no probe while the answer rate rises on its own (a target warming up to new connections)', () => {
    // capacity doubling every 200 ms from 300/s to 3000/s, offered 2500 rps: requests wait, but
    // more of them would only have slowed the warm-up; then the limit covers the need (2500/s at
    // 21 ms: 53) while what piled up drains
    const r = simulate({ latencyMs: () => 10, capacity: (_n, t) => Math.min(3000, 300 * 2 ** (t / 200)) }, { rps: 2500, ms: 6_000 });
    expect(between(r, 0, 1_500).some((x) => x.backlog > 0)).toBe(true);
    expect(r.trace.every((x) => x.limit === INITIAL_IN_FLIGHT_LIMIT)).toBe(true);
  });

  it('never grows before anything is answered (a target that is down from the start)', () => {
    const r = simulate(
      delay(
        () => 3,
        () => true,
      ),
      { rps: 2000, ms: 6_000 },
    );
    expect(r.trace.every((x) => x.limit === INITIAL_IN_FLIGHT_LIMIT)).toBe(true);
    expect(maxOf(r.peaks)).toBe(INITIAL_IN_FLIGHT_LIMIT);
  });

  it('after a probe that did not pay, waits (doubling) before the next, which steps ×2', () => {
    const s = createInFlightLimit(2000, 0);
    let t = 0;
    // Starved; 1000 answers/s whatever the limit: a saturated target, whose latency grows with
    // what is in it (Little's law: limit ÷ 1000/s).
    const sample = (): number =>
      adjustInFlightLimit(s, {
        nowMs: (t += SAMPLE_EVERY_MS),
        rps: 5000,
        inFlight: s.limit,
        backlog: 100,
        answered: 100,
        answeredMs: 100 * s.limit,
      });
    const limits: number[] = [];
    for (let i = 0; i < 100; i++) limits.push(sample());
    // probe (×4), judged about 300 ms later (one latency + the judging time), undone; the next
    // ones ×2, after 1 s, 2 s, 4 s
    const probes = limits.flatMap((l, i) =>
      l > INITIAL_IN_FLIGHT_LIMIT && limits[i - 1] === INITIAL_IN_FLIGHT_LIMIT ? [{ l, at: i * SAMPLE_EVERY_MS }] : [],
    );
    expect(probes.map((p) => p.l)).toEqual([4, 2, 2, 2].map((step) => step * INITIAL_IN_FLIGHT_LIMIT));
    const gaps = probes.slice(1).map((p, i) => p.at - probes[i].at);
    expect(gaps[1]).toBeGreaterThan(gaps[0] + HOLD_MS / 2);
    expect(gaps[2]).toBeGreaterThan(gaps[1] + HOLD_MS);
    expect(s.limit).toBe(INITIAL_IN_FLIGHT_LIMIT);
  });
});
