// The target's health endpoint: consecutive failed probes against the objective. Needs no traffic,
// so it always judges.
import { findBreaches, type SloThresholds } from '../slis.ts';
import type { GuardVerdict, SloGuard } from './slo-guard.ts';

export class HealthGuard implements SloGuard {
  readonly name = 'health';
  constructor(
    /** consecutive failed probes now (0 before probing starts) */
    private readonly failures: () => number,
    private readonly thresholds: SloThresholds,
  ) {}

  evaluate(): GuardVerdict {
    const healthFailures = this.failures();
    // samples 0: only health, which needs none, is judged
    const breaches = findBreaches(
      { p95LatencyMs: 0, errorRate: 0, availability: 1, healthFailures, samples: 0, throughputRps: 0 },
      this.thresholds,
      1,
    );
    return { status: breaches.length ? 'breach' : 'ok', breaches, values: { healthFailures } };
  }
}
