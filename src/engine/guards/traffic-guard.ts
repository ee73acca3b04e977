// The SLOs measured from gameday's own open-loop traffic: p95 latency, error rate and availability
// over the sliding window, with requests still in flight past the p95 threshold already counted as
// slow (so a latency breach shows before the responses arrive). Too few requests: inconclusive.
import { formatDurationMs } from '../../config/duration.ts';
import { findBreaches, type SloThresholds } from '../slis.ts';
import type { SloWindow } from '../slo-window.ts';
import type { GuardVerdict, SloGuard } from './slo-guard.ts';

export interface TrafficGuardOptions {
  window: SloWindow;
  thresholds: SloThresholds;
  minSamples: number;
  /** ages of requests in flight (or waiting to be sent) longer than `thresholdMs`; none before traffic starts */
  slowInFlightAges(nowMs: number, thresholdMs: number): number[];
}

export class TrafficGuard implements SloGuard {
  readonly name = 'traffic';
  constructor(private readonly opts: TrafficGuardOptions) {}

  evaluate(nowMs: number): GuardVerdict {
    const o = this.opts;
    const s = o.window.evaluate(nowMs, o.slowInFlightAges(nowMs, o.thresholds.p95LatencyMs), 0);
    const values = {
      p95LatencyMs: s.p95LatencyMs,
      errorRate: s.errorRate,
      availability: s.availability,
      samples: s.samples,
      throughputRps: s.throughputRps,
    };
    if (s.samples < o.minSamples) {
      return {
        status: 'inconclusive',
        breaches: [],
        values,
        reason: `only ${s.samples} requests answered in the last ${formatDurationMs(o.window.windowMs)} (need ${o.minSamples})`,
      };
    }
    // health is the health guard's: judged here with 0 failures it never breaches
    const breaches = findBreaches(s, o.thresholds, o.minSamples);
    return { status: breaches.length ? 'breach' : 'ok', breaches, values };
  }

  reset(nowMs: number): void {
    this.opts.window.reset(nowMs);
  }
}
