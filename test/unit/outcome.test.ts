// decideOutcome: every status and exit code, and every combination a run can reach, without
// running one.
import { describe, expect, it } from 'vitest';
import { decideOutcome, type OutcomeFacts, type Trigger } from '../../src/engine/outcome.ts';

const t = (trigger: Trigger['trigger'], reason: string, urgent = false): Trigger => ({ trigger, reason, atMs: 1, urgent });
const removed = { ok: true, faultRemoved: true, failures: '' };

function facts(over: Partial<OutcomeFacts> = {}): OutcomeFacts {
  return {
    refusal: null,
    ended: t('duration', 'ran its full 60s with SLOs held'),
    urgentStop: null,
    injectAttempted: true,
    rollback: removed,
    recoveryVerified: true,
    recoveryTimeoutMs: 30_000,
    ...over,
  };
}

describe('decideOutcome', () => {
  it('0 passed: the full duration with SLOs held, recovery verified', () => {
    expect(decideOutcome(facts())).toEqual({ status: 'passed', exitCode: 0, reason: 'ran its full 60s with SLOs held; recovery verified' });
  });

  it('0 passed after a manual rollback (r): a person ended it early, the service recovered', () => {
    expect(decideOutcome(facts({ ended: t('manual', 'rolled back by hand') }))).toMatchObject({
      status: 'passed',
      exitCode: 0,
      reason: 'rolled back by hand; recovery verified',
    });
  });

  it('2 refused: preflight or the baseline refused; its reason, whatever else is known', () => {
    const refused = facts({
      refusal: 'preflight: target reachable: ECONNREFUSED',
      injectAttempted: false,
      rollback: null,
      recoveryVerified: null,
      urgentStop: t('signal', 'received SIGINT', true),
    });
    expect(decideOutcome(refused)).toEqual({ status: 'refused', exitCode: 2, reason: 'preflight: target reachable: ECONNREFUSED' });
  });

  it('3 breach: an SLO broke, rolled back and recovered', () => {
    expect(decideOutcome(facts({ ended: t('breach', 'SLO breached: p95 latency 812ms (limit 500ms)') }))).toEqual({
      status: 'breach',
      exitCode: 3,
      reason: 'SLO breached: p95 latency 812ms (limit 500ms); recovery verified',
    });
  });

  it('4 budget: the cap stopped it, with the fault in or before anything went in', () => {
    expect(decideOutcome(facts({ ended: t('budget', 'experiment budget reached') }))).toMatchObject({
      status: 'budget',
      exitCode: 4,
      reason: 'experiment budget reached; recovery verified',
    });
    const beforeInjecting = facts({
      ended: t('budget', 'day budget reached'),
      injectAttempted: false,
      rollback: null,
      recoveryVerified: null,
    });
    expect(decideOutcome(beforeInjecting)).toEqual({ status: 'budget', exitCode: 4, reason: 'day budget reached; nothing was injected' });
  });

  it('5 stopped: an urgent stop outranks the trigger; its reason, verified by one probe or not', () => {
    const stop = t('emergency-stop', 'emergency stop (x key)', true);
    expect(decideOutcome(facts({ ended: t('breach', 'SLO breached'), urgentStop: stop }))).toEqual({
      status: 'stopped',
      exitCode: 5,
      reason: 'emergency stop (x key); recovery verified',
    });
    expect(decideOutcome(facts({ ended: stop, urgentStop: stop, recoveryVerified: null }))).toMatchObject({
      status: 'stopped',
      exitCode: 5,
      reason: 'emergency stop (x key)',
    });
    const signalled = t('signal', 'received SIGTERM', true);
    expect(
      decideOutcome(facts({ ended: signalled, urgentStop: signalled, injectAttempted: false, rollback: null, recoveryVerified: null })),
    ).toEqual({
      status: 'stopped',
      exitCode: 5,
      reason: 'received SIGTERM; nothing was injected',
    });
  });

  it('5 stopped: an engine error ends the run as a stop, even without an urgent stop asked for', () => {
    expect(decideOutcome(facts({ ended: t('error', 'engine error: boom'), recoveryVerified: null }))).toEqual({
      status: 'stopped',
      exitCode: 5,
      reason: 'engine error: boom',
    });
  });

  it('5 stopped outranks a recovery not verified: the stop was asked for, the probe said nothing', () => {
    const stop = t('signal', 'received SIGHUP', true);
    expect(decideOutcome(facts({ urgentStop: stop, recoveryVerified: false }))).toMatchObject({ status: 'stopped', exitCode: 5 });
  });

  it('6 rollback-failed: the fault may remain, whatever ended the run', () => {
    const stuck = { ok: false, faultRemoved: false, failures: 'remove-fault: restore exited 3' };
    for (const over of [{}, { urgentStop: t('emergency-stop', 'emergency stop (x)', true) }, { ended: t('breach', 'SLO breached') }]) {
      expect(decideOutcome(facts({ ...over, rollback: stuck, recoveryVerified: null }))).toEqual({
        status: 'rollback-failed',
        exitCode: 6,
        reason: 'FAULT MAY REMAIN: remove-fault: restore exited 3',
      });
    }
  });

  it('6 rollback-failed: the fault is out but a later step failed', () => {
    const step = { ok: false, faultRemoved: true, failures: 'traffic-shift: no standby' };
    expect(decideOutcome(facts({ rollback: step, recoveryVerified: null }))).toEqual({
      status: 'rollback-failed',
      exitCode: 6,
      reason: 'rollback step failed: traffic-shift: no standby',
    });
  });

  it('6 rollback-failed: the rollback itself threw', () => {
    expect(decideOutcome(facts({ rollback: { crashed: 'driver exploded' }, recoveryVerified: null }))).toEqual({
      status: 'rollback-failed',
      exitCode: 6,
      reason: 'rollback failed unexpectedly: driver exploded',
    });
  });

  it('6 rollback-failed: recovery not verified within the timeout, naming what ended the run', () => {
    expect(decideOutcome(facts({ ended: t('breach', 'SLO breached: error rate 4.00% (limit 1.00%)'), recoveryVerified: false }))).toEqual({
      status: 'rollback-failed',
      exitCode: 6,
      reason: 'recovery not verified within 30.0s after SLO breached: error rate 4.00% (limit 1.00%)',
    });
  });

  it('a recovery not judged (null) is no failure: a gentle trigger keeps its status, without the verified note', () => {
    expect(decideOutcome(facts({ ended: t('breach', 'SLO breached'), recoveryVerified: null }))).toEqual({
      status: 'breach',
      exitCode: 3,
      reason: 'SLO breached',
    });
  });
});
