// How many requests the traffic generator keeps in flight (= connections in use). Open-loop
// traffic needs rate × latency of them (Little's law): a handful against a healthy target,
// hundreds while a latency fault is in. More is a hazard: when a target stalls, every due request
// would take a slot, and hundreds of new connections can cut a loopback target's throughput to a
// third, turning a hiccup into a collapse (bench/README.md: the demo's connection storm).
//
// So this is a throughput-gradient limiter, in the spirit of Netflix's concurrency-limits and
// Envoy's adaptive concurrency, but for a client that must keep up an offered rate (a limiter that
// backs off as latency rises would turn every latency fault into a closed loop):
//  - it is sized from observed latency, not the timeout: it probes only when what the answers'
//    mean latency says the rate needs (rate × latency, Little's law) exceeds it, aiming at that
//    need with a margin plus 1.5 times the shortfall (to send what piled up meanwhile), and never
//    past twice the need (latencySizedLimit). Near a target's capacity, where the rate is about
//    the answers per second, the need is barely above what is in flight: probes there are small;
//  - it grows only while answers per second rise with it: a step up (×4, ×2 after one that did
//    not pay) is a probe, judged once the extra requests had time to come back. Kept if the answer
//    rate rose by at least half as much as the requests in flight did, then trimmed to what was
//    used; undone otherwise, and then no probe for a while (doubling back-off). A target whose
//    throughput stays flat or falls as connections rise never gets more of them. Answers are
//    counted, not estimated as mean in flight ÷ mean latency: right after a probe only the fast
//    answers have come, which would flatter it. And a probe during which answers got markedly
//    faster proves nothing (the target recovering from a slow spell looks like a gain): undone;
//  - a stall (nothing answered) teaches nothing, so the limit stays where it was: requests that
//    cannot be sent wait in the generator's backlog, and are dropped unsent past their timeout.
//    Probes start only from a steady stream of answers, so not in the burst after a stall either,
//    nor while the answer rate rises on its own (the target recovering from a slow spell, or
//    warming up to a generator's new connections): a probe then would be credited with that.
// It shrinks back towards the latency-sized need, never below the floor, when the need falls.

/**
 * Starting limit, and the floor: 640 ms of added latency at 100 rps needs no probing (a game day's
 * latency faults), and a stall holds at most this many connections at rates where latency × rate
 * needs fewer.
 */
export const INITIAL_IN_FLIGHT_LIMIT = 64;
/** How often the generator samples the limiter. */
export const SAMPLE_EVERY_MS = 100;
/** latencySizedLimit's margin over rate × mean latency (arrivals and answers come in bursts)... */
const LATENCY_HEADROOM = 2;
/** ...and a probe's, plus this much of the shortfall (the need over the limit)... */
const PROBE_HEADROOM = 1.25;
const CATCH_UP = 1.5;
/** ...both plus a few slots for the smallest needs. */
const SPARE_SLOTS = 4;
/** A probe's step, and the step after one that did not pay (until one does). */
const PROBE_STEP = 4;
const PROBE_STEP_AFTER_MISS = 2;
/** A probe pays when the answer rate rose by at least this share of the rise in requests in flight. */
const MIN_SHARE_OF_GAIN = 0.5;
/** Answers faster than this share of their latency before the probe: the target changed, not the limit. */
const RECOVERED = 0.75;
/** The second half of the base window answered this much faster than the first: rising, no probe. */
const RISING = 1.25;
/** A probe that paid keeps the requests in flight it used, with this margin. */
const USED_MARGIN = 1.25;
/** After a probe that did not pay, no probe for this long, doubling up to MAX_HOLD_MS. */
export const HOLD_MS = 1000;
const MAX_HOLD_MS = 8000;
/** The rate after a probe is counted over this long, or long enough for JUDGE_ANSWERS answers... */
const JUDGE_MIN_MS = 400;
const JUDGE_MAX_MS = 1000;
const JUDGE_ANSWERS = 100;
/** ...and before it over about a latency (answers come back in waves of one latency), within these. */
const BASE_MIN_MS = 300;
const BASE_MAX_MS = 1000;
/** At most one halving towards the need per this interval. */
const SHRINK_EVERY_MS = 500;
/** Weight of a sample's mean latency in the smoothed latency. */
const LATENCY_WEIGHT = 0.5;
/** Samples kept: more than BASE_MAX_MS and JUDGE_MAX_MS at SAMPLE_EVERY_MS. */
const HISTORY = 16;

interface Sample {
  /** when it ended, and how long it covered */
  atMs: number;
  ms: number;
  answered: number;
  answeredMs: number;
  inFlight: number;
}

/** Over a stretch of samples: how long, mean in flight, answers and their mean latency. */
interface Stretch {
  ms: number;
  inFlight: number;
  answered: number;
  latencyMs: number;
}

export interface InFlightLimit {
  limit: number;
  readonly floor: number;
  readonly max: number;
  /** mean time from send to answer, smoothed over samples; NaN before the first answer */
  latencyMs: number;
  /** recent samples, oldest first */
  readonly history: Sample[];
  lastMs: number;
  /** when answers last came, and since when they have come with no silence between (silenceMs) */
  lastAnswerMs: number;
  answeringSinceMs: number;
  /** since when requests have been waiting for a slot at every sample; NaN when none wait */
  starvedSinceMs: number;
  /** the step up being judged, if any: the stretch before it, and the latency then */
  probe: { fromLimit: number; atMs: number; base: Stretch; latencyMs: number } | null;
  step: number;
  holdUntilMs: number;
  holdMs: number;
  changedAtMs: number;
}

export function createInFlightLimit(maxInFlight: number, nowMs: number): InFlightLimit {
  const floor = Math.min(maxInFlight, INITIAL_IN_FLIGHT_LIMIT);
  return {
    limit: floor,
    floor,
    max: maxInFlight,
    latencyMs: NaN,
    history: [],
    lastMs: nowMs,
    lastAnswerMs: NaN,
    answeringSinceMs: NaN,
    starvedSinceMs: NaN,
    probe: null,
    step: PROBE_STEP,
    holdUntilMs: -Infinity,
    holdMs: HOLD_MS,
    changedAtMs: nowMs,
  };
}

export interface LimitInput {
  nowMs: number;
  /** the offered rate */
  rps: number;
  inFlight: number;
  /** due requests waiting for a slot */
  backlog: number;
  /**
   * Requests answered (any HTTP status) since the previous call, and their summed time from send
   * to answer. Transport errors and the generator's own deadlines are not answers: a stalled
   * target whose requests fail must not look like one that keeps up.
   */
  answered: number;
  answeredMs: number;
}

/** In-flight requests the rate needs at this latency (Little's law), with headroom; at least SPARE_SLOTS. */
export function latencySizedLimit(rps: number, latencyMs: number): number {
  return Math.ceil((rps * latencyMs * LATENCY_HEADROOM) / 1000) + SPARE_SLOTS;
}

/** Updates the limit in place (called about every SAMPLE_EVERY_MS); returns it. */
export function adjustInFlightLimit(s: InFlightLimit, x: LimitInput): number {
  // requests wait only while the limit binds (the generator sends at once when a slot is free)
  const starved = x.backlog > 0;
  if (!starved) s.starvedSinceMs = NaN;
  else if (Number.isNaN(s.starvedSinceMs)) s.starvedSinceMs = s.lastMs;
  observe(s, x);
  // before any answer the latency is unknown: neither grow nor shrink
  const sized = Number.isNaN(s.latencyMs) ? s.limit : clamp(s, latencySizedLimit(x.rps, s.latencyMs));
  // What a probe aims at; none while the limit covers the need (requests then wait only for a
  // target that is catching up, which more of them would not speed up).
  const need = (x.rps * s.latencyMs) / 1000;
  const target = need > s.limit ? Math.min(sized, probeTarget(s, need)) : s.limit;
  if (s.probe !== null) {
    // (at the latency seen before it: one that grows with the probe must not put the verdict off)
    if (x.nowMs >= s.probe.atMs + s.probe.latencyMs + judgeMs(s.probe.base)) judge(s, x.nowMs);
  } else if (starved && s.limit < target && x.nowMs >= s.holdUntilMs) {
    const baseMs = Math.min(BASE_MAX_MS, Math.max(BASE_MIN_MS, s.latencyMs));
    // Only when requests have waited all along (not a hiccup, which a probe would only make worse)
    // and from a steady stream of answers: during a stall there is no evidence that more requests
    // would be answered, and the burst after one is the target catching up, not the limit paying.
    const base = stretch(s, x.nowMs - baseMs);
    const steady = x.nowMs - s.lastAnswerMs <= silenceMs(s) && x.nowMs - s.answeringSinceMs >= baseMs;
    const rising = rate(stretch(s, x.nowMs - baseMs / 2)) > RISING * rate(stretch(s, x.nowMs - baseMs, x.nowMs - baseMs / 2));
    if (steady && !rising && x.nowMs - s.starvedSinceMs >= baseMs && base.answered > 0) {
      s.probe = { fromLimit: s.limit, atMs: x.nowMs, base, latencyMs: s.latencyMs };
      setLimit(s, x.nowMs, Math.min(target, s.limit * s.step));
    }
  } else if (!starved && s.limit > sized && x.nowMs - s.changedAtMs >= SHRINK_EVERY_MS) {
    setLimit(s, x.nowMs, Math.max(sized, s.limit / 2));
  }
  return s.limit;
}

/** What a probe aims at: the need (Little's law) with a margin, plus more of the shortfall. */
function probeTarget(s: InFlightLimit, need: number): number {
  return clamp(s, need * PROBE_HEADROOM + (need - s.limit) * CATCH_UP + SPARE_SLOTS);
}

/** Records the sample; updates the smoothed latency and the answer stream. */
function observe(s: InFlightLimit, x: LimitInput): void {
  if (x.answered > 0) {
    // answers again after a silence: a new stream starts where this sample did
    if (!(s.lastMs - s.lastAnswerMs <= silenceMs(s))) s.answeringSinceMs = s.lastMs;
    s.lastAnswerMs = x.nowMs;
    const mean = x.answeredMs / x.answered;
    s.latencyMs = Number.isNaN(s.latencyMs) ? mean : s.latencyMs + LATENCY_WEIGHT * (mean - s.latencyMs);
  }
  const ms = Math.max(0, x.nowMs - s.lastMs);
  s.history.push({ atMs: x.nowMs, ms, answered: x.answered, answeredMs: x.answeredMs, inFlight: x.inFlight });
  if (s.history.length > HISTORY) s.history.shift();
  s.lastMs = x.nowMs;
}

/**
 * The probe's verdict, from one latency after it (when its extra requests come back): kept if the
 * answer rate rose by at least MIN_SHARE_OF_GAIN of the rise in flight, trimmed to what was used.
 */
function judge(s: InFlightLimit, nowMs: number): void {
  const { fromLimit, atMs, base, latencyMs } = s.probe!;
  s.probe = null;
  const after = stretch(s, atMs + latencyMs);
  if (after.latencyMs < RECOVERED * base.latencyMs) {
    // inconclusive: undone, and a short wait for a steadier base (no back-off: nothing was learnt)
    setLimit(s, nowMs, fromLimit);
    s.holdUntilMs = nowMs + HOLD_MS;
    return;
  }
  const rise = Math.max(1, after.inFlight / base.inFlight);
  const gain = rate(after) / rate(base);
  if (gain >= 1 + MIN_SHARE_OF_GAIN * (rise - 1) && gain > 1) {
    setLimit(s, nowMs, Math.min(s.limit, Math.max(fromLimit, after.inFlight * USED_MARGIN)));
    s.step = PROBE_STEP;
    s.holdMs = HOLD_MS;
    return;
  }
  setLimit(s, nowMs, fromLimit);
  s.step = PROBE_STEP_AFTER_MISS;
  s.holdUntilMs = nowMs + s.holdMs;
  s.holdMs = Math.min(MAX_HOLD_MS, s.holdMs * 2);
}

function rate(x: Stretch): number {
  return x.ms > 0 ? (x.answered * 1000) / x.ms : 0;
}

/**
 * A gap between answers longer than this is a silence (a stall). Answers come back in waves of
 * one latency (requests sent together are answered together), so a gap of about one is not.
 */
function silenceMs(s: InFlightLimit): number {
  return Number.isNaN(s.latencyMs) ? 2 * SAMPLE_EVERY_MS : Math.max(2 * SAMPLE_EVERY_MS, 1.5 * s.latencyMs);
}

/** Long enough for about JUDGE_ANSWERS answers at the rate before the probe. */
function judgeMs(base: Stretch): number {
  return Math.min(JUDGE_MAX_MS, Math.max(JUDGE_MIN_MS, (JUDGE_ANSWERS / rate(base)) * 1000));
}

/** The samples kept from `fromMs` to `toMs` (a sample across either counts pro rata). */
function stretch(s: InFlightLimit, fromMs: number, toMs = Infinity): Stretch {
  let ms = 0;
  let inFlightMs = 0;
  let answered = 0;
  let answeredMs = 0;
  for (const h of s.history) {
    const begin = Math.max(h.atMs - h.ms, fromMs);
    const end = Math.min(h.atMs, toMs);
    const part = h.ms > 0 ? Math.max(0, end - begin) / h.ms : h.atMs > fromMs && h.atMs <= toMs ? 1 : 0;
    ms += part * h.ms;
    inFlightMs += part * h.ms * h.inFlight;
    answered += part * h.answered;
    answeredMs += part * h.answeredMs;
  }
  return { ms, inFlight: ms > 0 ? inFlightMs / ms : 0, answered, latencyMs: answered > 0 ? answeredMs / answered : NaN };
}

function clamp(s: InFlightLimit, limit: number): number {
  return Math.min(s.max, Math.max(s.floor, Math.ceil(limit)));
}

function setLimit(s: InFlightLimit, nowMs: number, limit: number): void {
  s.limit = clamp(s, limit);
  s.changedAtMs = nowMs;
}
