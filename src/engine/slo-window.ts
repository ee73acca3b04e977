// The sliding window the SLIs are computed over: a ring of time buckets, each with a latency
// histogram and outcome counters, so recording is O(1) and old data falls out a bucket at a time.
import * as hdr from 'hdr-histogram-js';
import type { Histogram } from 'hdr-histogram-js';
import type { Outcome, Slis } from './slis.ts';

/** Latencies are recorded in whole microseconds; anything over an hour is clamped to an hour. */
const US_PER_MS = 1000;
const MAX_LATENCY_US = 3_600_000_000;

function newHistogram(): Histogram {
  // Plain JS build (no WASM), fixed range so buckets never resize and always merge on the fast
  // path; 3 significant digits keeps percentiles within 0.1 %.
  return hdr.build({
    bitBucketSize: 32,
    numberOfSignificantValueDigits: 3,
    lowestDiscernibleValue: 1,
    highestTrackableValue: MAX_LATENCY_US,
    autoResize: false,
    useWebAssembly: false,
  });
}

const toMicros = (latencyMs: number): number => (latencyMs > 0 ? Math.min(MAX_LATENCY_US, Math.round(latencyMs * US_PER_MS)) : 0);

class Bucket {
  /** absolute bucket number: floor(timeMs / bucketMs); -Infinity when never used */
  index = -Infinity;
  readonly hist = newHistogram();
  ok = 0;
  error = 0;
  timeout = 0;
  reset = 0;
  refused = 0;

  clear(index: number): void {
    this.index = index;
    if (this.hist.totalCount > 0) this.hist.reset();
    this.ok = this.error = this.timeout = this.reset = this.refused = 0;
  }
}

export class SloWindow {
  readonly windowMs: number;
  readonly bucketMs: number;
  private readonly buckets: Bucket[];
  /** reused by evaluate() to merge the live buckets */
  private readonly merged = newHistogram();
  /** first time the window saw (after construction or reset): throughput uses the elapsed part */
  private originMs: number | null = null;
  /** requests scheduled before this belong to an earlier period (see reset) and are not counted */
  private scheduledFromMs = -Infinity;

  constructor(opts: { windowMs: number; bucketMs?: number }) {
    if (!(opts.windowMs > 0)) throw new Error(`windowMs must be > 0, got ${opts.windowMs}`);
    this.windowMs = opts.windowMs;
    this.bucketMs = Math.min(opts.bucketMs ?? 250, opts.windowMs);
    if (!(this.bucketMs > 0)) throw new Error(`bucketMs must be > 0, got ${opts.bucketMs}`);
    const count = Math.ceil(this.windowMs / this.bucketMs);
    this.buckets = Array.from({ length: count }, () => new Bucket());
  }

  /** Records one completed request (hot path). `nowMs` is when it completed. */
  record(outcome: Outcome, latencyMs: number, nowMs: number): void {
    // latency runs from the scheduled send time, so this is when the request was scheduled
    if (nowMs - latencyMs < this.scheduledFromMs) return;
    if (this.originMs === null) this.originMs = nowMs;
    const index = Math.floor(nowMs / this.bucketMs);
    const n = this.buckets.length;
    const bucket = this.buckets[((index % n) + n) % n];
    if (bucket.index !== index) {
      // A record older than the bucket now in its slot is older than the window: drop it.
      if (bucket.index > index) return;
      bucket.clear(index);
    }
    bucket.hist.recordValue(toMicros(latencyMs));
    switch (outcome) {
      case 'ok':
        bucket.ok++;
        break;
      case 'error':
        bucket.error++;
        break;
      case 'timeout':
        bucket.timeout++;
        break;
      case 'reset':
        bucket.reset++;
        break;
      case 'refused':
        bucket.refused++;
        break;
    }
  }

  /**
   * The SLIs over the window ending at `nowMs`. `inFlightSlowAgesMs`: ages of requests still in
   * flight that are already older than the p95 threshold; they count as samples with latency =
   * age, and as answered (their outcome is not known yet), so a latency breach need not wait for
   * the responses.
   */
  evaluate(nowMs: number, inFlightSlowAgesMs: readonly number[], healthFailures: number): Slis {
    if (this.originMs === null) this.originMs = nowMs;
    const nowIndex = Math.floor(nowMs / this.bucketMs);
    const oldestIndex = nowIndex - this.buckets.length + 1;
    const merged = this.merged;
    merged.reset();
    let ok = 0;
    let errors = 0;
    let unanswered = 0;
    for (const b of this.buckets) {
      if (b.index < oldestIndex || b.index > nowIndex) continue;
      ok += b.ok;
      errors += b.error;
      unanswered += b.timeout + b.reset + b.refused;
      if (b.hist.totalCount > 0) merged.add(b.hist);
    }
    const maxAgeMs = nowMs - this.scheduledFromMs;
    let slow = 0;
    for (let i = 0; i < inFlightSlowAgesMs.length; i++) {
      if (inFlightSlowAgesMs[i] > maxAgeMs) continue; // scheduled before the reset
      merged.recordValue(toMicros(inFlightSlowAgesMs[i]));
      slow++;
    }

    const completed = ok + errors + unanswered;
    const requests = completed + slow;
    // The window covers whole buckets back to oldestIndex, or less when it is not yet full.
    const coveredFromMs = Math.max(oldestIndex * this.bucketMs, this.originMs);
    const coveredMs = Math.max(nowMs - coveredFromMs, this.bucketMs);
    return {
      p95LatencyMs: requests > 0 ? merged.getValueAtPercentile(95) / US_PER_MS : 0,
      errorRate: requests > 0 ? errors / requests : 0,
      availability: requests > 0 ? (ok + errors + slow) / requests : 1,
      healthFailures,
      samples: requests,
      throughputRps: completed / (coveredMs / 1000),
    };
  }

  /**
   * Empties the window. With `nowMs`, a new period starts there: the elapsed-time count restarts,
   * and requests scheduled before it (the fault's, when verifying recovery; the warm-up's, when
   * measuring the baseline) are not counted when they complete later, nor while in flight.
   */
  reset(nowMs?: number): void {
    for (const b of this.buckets) b.clear(-Infinity);
    this.originMs = nowMs ?? null;
    this.scheduledFromMs = nowMs ?? -Infinity;
  }
}
