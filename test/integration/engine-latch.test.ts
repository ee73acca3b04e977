// A controller learns that it must stop two ways: its tick heartbeat, or a reservation the ledger
// refuses. The ledger refuses for two reasons, and the run must say which: the emergency-stop latch
// (an `emergency-stop` event, ended as an emergency stop), or this controller declared dead by
// another gameday process (no latch was set: no `emergency-stop` event, and the reason says so).
// Here the reservation path is forced: a budget that refuses once observation begins, and no ledger
// link to race it.
import { describe, expect, it } from 'vitest';
import { MemoryBudget, type ReservationStop, type ReserveResult } from '../../src/budget/budget.ts';
import { resolveRunPlan } from '../../src/config/plan.ts';
import { ExperimentRun } from '../../src/engine/run.ts';
import type { GamedayEvent, Summary } from '../../src/engine/events.ts';

class RefusingBudget extends MemoryBudget {
  refuseWith: ReservationStop | null = null;
  override async reserve(requests: number): Promise<ReserveResult> {
    return this.refuseWith ? { grantedRequests: 0, limitedBy: this.refuseWith } : super.reserve(requests);
  }
}

async function runRefusedWith(why: ReservationStop): Promise<{ summary: Summary; events: GamedayEvent[] }> {
  const plan = resolveRunPlan({ experimentType: 'latency', duration: '60s', rps: '50', metricsPort: '0' }, {});
  plan.schedule.warmupMs = 200;
  plan.schedule.baselineMs = 1000;
  // a fault that breaches nothing, so the refusal is the only reason to stop
  plan.fault = { type: 'latency', latency: 1, jitter: 0, probability: 1 };
  const budget = new RefusingBudget({ costPerRequestUsd: 0.001, experimentCapUsd: 100, dayCapUsd: 500 });
  const events: GamedayEvent[] = [];
  const run = new ExperimentRun({ plan, experimentId: 'refusal-test', budget, emit: (e) => events.push(e) });
  run.onEvent((e) => {
    if (e.type === 'phase' && e.phase === 'observe') budget.refuseWith = why;
  });
  return { summary: await run.run(), events };
}

describe('a reservation the ledger refuses', () => {
  it('for the latch: emits emergency-stop, removes the fault and ends as an emergency stop', async () => {
    const { summary, events } = await runRefusedWith('emergency-stop');
    expect(events.filter((e) => e.type === 'emergency-stop')).toHaveLength(1);
    expect(summary).toMatchObject({ status: 'stopped', trigger: 'emergency-stop', exitCode: 5, faultRemoved: true });
    expect(summary.reason).toMatch(/emergency-stop latch, seen by a reservation/);
  });

  it('because this controller was declared dead: says so, and never calls it an emergency stop', async () => {
    const { summary, events } = await runRefusedWith('not-running');
    expect(events.filter((e) => e.type === 'emergency-stop')).toHaveLength(0);
    expect(summary).toMatchObject({ status: 'stopped', exitCode: 5, faultRemoved: true });
    expect(summary.trigger).not.toBe('emergency-stop');
    expect(summary.reason).toMatch(/declared dead by another gameday process/);
    expect(summary.reason).not.toMatch(/latch|emergency/);
  });
});
