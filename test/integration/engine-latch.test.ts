// The emergency-stop latch can reach a controller two ways: its tick heartbeat, or a reservation the
// ledger refuses as 'stopped'. Whichever sees it first, the run must say so (an `emergency-stop`
// event) and end as an emergency stop with the fault out. Here the reservation path is forced: a
// budget that answers 'stopped' once observation begins, and no ledger link to race it.
import { describe, expect, it } from 'vitest';
import { MemoryBudget, type ReserveResult } from '../../src/budget/budget.ts';
import { resolveRunPlan } from '../../src/config/plan.ts';
import { ExperimentRun } from '../../src/engine/run.ts';
import type { GamedayEvent } from '../../src/engine/events.ts';
import { createGamedayStore } from '../../src/state/store.ts';

class LatchableBudget extends MemoryBudget {
  latched = false;
  override reserve(requests: number): ReserveResult {
    return this.latched ? { grantedRequests: 0, limitedBy: 'stopped' } : super.reserve(requests);
  }
}

describe('the emergency-stop latch seen by a reservation', () => {
  it('emits emergency-stop, removes the fault and ends as an emergency stop', async () => {
    const plan = resolveRunPlan({ experimentType: 'latency', duration: '60s', rps: '50', metricsPort: '0' }, {});
    plan.schedule.warmupMs = 200;
    plan.schedule.baselineMs = 1000;
    // a fault that breaches nothing, so the latch is the only reason to stop
    plan.fault = { type: 'latency', latency: 1, jitter: 0, probability: 1 };
    const budget = new LatchableBudget({ costPerRequestUsd: 0.001, experimentCapUsd: 100, dayCapUsd: 500 });
    const events: GamedayEvent[] = [];
    const run = new ExperimentRun({ plan, experimentId: 'latch-test', budget, store: createGamedayStore(), emit: (e) => events.push(e) });
    run.onEvent((e) => {
      if (e.type === 'phase' && e.phase === 'observe') budget.latched = true;
    });
    const summary = await run.run();
    expect(events.filter((e) => e.type === 'emergency-stop')).toHaveLength(1);
    expect(summary.status).toBe('stopped');
    expect(summary.trigger).toBe('emergency-stop');
    expect(summary.exitCode).toBe(5);
    expect(summary.faultRemoved).toBe(true);
  });
});
