// The pod-restart rollback step against a STAND-IN kubectl, not a real one: no Kubernetes cluster can
// run on these machines. The stand-in (test/helpers/fake-kubectl.ts) logs the argv it gets and
// answers with kubectl's own output formats (test/fixtures/kubectl/). So these tests prove the
// commands gameday sends and how it reads kubectl's answers and exit codes, and that a rollout that
// does not finish is bounded; whether a real cluster restarts the pods is outside what they show.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PodRestartSpec } from '../../src/config/schema.ts';
import { podRestart } from '../../src/rollback/pod-restart.ts';
import { installStandInKubectl, recordedContexts, type StandInKubectl } from '../helpers/fake-kubectl.ts';

const spec = (over: Partial<PodRestartSpec> = {}): PodRestartSpec => ({
  type: 'pod-restart',
  deployment: 'checkout',
  timeout: 2_000,
  ...over,
});
const scoped = spec({ namespace: 'shop', context: 'kind-gameday' });

let kubectl: StandInKubectl;
const emptyDir = mkdtempSync(join(tmpdir(), 'gameday-empty-path-'));
afterAll(() => rmSync(emptyDir, { recursive: true, force: true }));

beforeEach(() => {
  kubectl = installStandInKubectl();
  // the stand-in first on PATH, and no kubectl named by the environment this test runs in
  vi.stubEnv('PATH', `${kubectl.dir}${delimiter}${process.env.PATH}`);
  vi.stubEnv('GAMEDAY_KUBECTL', undefined);
});
afterEach(() => {
  vi.unstubAllEnvs();
  kubectl.remove();
});

describe('podRestart name', () => {
  it('names the deployment, and the namespace and context when given', () => {
    expect(podRestart(spec()).name).toBe('pod-restart deployment/checkout');
    expect(podRestart(scoped).name).toBe('pod-restart deployment/checkout -n shop --context kind-gameday');
    expect(podRestart(spec({ namespace: 'shop' })).name).toBe('pod-restart deployment/checkout -n shop');
  });
});

describe('podRestart run', () => {
  it('restarts, then waits for the rollout: exactly two kubectl calls, global flags first', async () => {
    await expect(podRestart(scoped).run()).resolves.toBeUndefined();
    expect(kubectl.calls()).toEqual([
      ['--context', 'kind-gameday', '-n', 'shop', 'rollout', 'restart', 'deployment/checkout'],
      ['--context', 'kind-gameday', '-n', 'shop', 'rollout', 'status', 'deployment/checkout', '--timeout=2s'],
    ]);
  });

  it('without a namespace or context, passes neither', async () => {
    await expect(podRestart(spec({ deployment: 'pricing-api', timeout: 90_500 })).run()).resolves.toBeUndefined();
    expect(kubectl.calls()).toEqual([
      ['rollout', 'restart', 'deployment/pricing-api'],
      ['rollout', 'status', 'deployment/pricing-api', '--timeout=91s'],
    ]);
  });

  it('a restart kubectl refuses fails the step, and no status is waited for', async () => {
    kubectl.setScenario({ restart: 'not-found' });
    await expect(podRestart(scoped).run()).rejects.toThrow(
      'rollout restart deployment/checkout` failed (exit 1): Error from server (NotFound): deployments.apps "checkout" not found',
    );
    expect(kubectl.calls()).toHaveLength(1);
  });

  it('a rollout that fails (progress deadline exceeded) fails the step, saying so', async () => {
    kubectl.setScenario({ rollout: 'fail' });
    const err: Error = await podRestart(scoped)
      .run()
      .then(
        () => new Error('resolved'),
        (e: Error) => e,
      );
    expect(err.message).toMatch(
      /^rollout failed: `.*kubectl --context kind-gameday -n shop rollout status deployment\/checkout --timeout=2s` failed \(exit 1\)/,
    );
    expect(err.message).toContain('error: deployment "checkout" exceeded its progress deadline');
    expect(err.message).toContain(
      '(last status: Waiting for deployment "checkout" rollout to finish: 1 out of 3 new replicas have been updated...)',
    );
    expect(err.message).not.toContain('in time');
  });

  it('a rollout that kubectl gives up on at its --timeout is not done in time', async () => {
    kubectl.setScenario({ rollout: 'timeout' });
    const t0 = performance.now();
    const err: Error = await podRestart(spec({ timeout: 1_000 }))
      .run()
      .then(
        () => new Error('resolved'),
        (e: Error) => e,
      );
    const tookMs = performance.now() - t0;
    expect(err.message).toMatch(/^rollout not done in time \(1s\): /);
    // kubectl's own words: it was kubectl's --timeout that ended it, not gameday's bound
    expect(err.message).toContain('failed (exit 1): error: timed out waiting for the condition');
    expect(tookMs).toBeGreaterThanOrEqual(1_000);
    expect(tookMs).toBeLessThan(3_000);
  });

  it('a kubectl that never comes back is stopped a little after the timeout: not done in time', async () => {
    kubectl.setScenario({ rollout: 'hang' });
    const t0 = performance.now();
    const err: Error = await podRestart(spec({ timeout: 1_000 }))
      .run()
      .then(
        () => new Error('resolved'),
        (e: Error) => e,
      );
    const tookMs = performance.now() - t0;
    expect(err.message).toMatch(
      /^rollout not done in time \(1s\): `.*kubectl rollout status deployment\/checkout --timeout=1s` failed \(timed out after \d+ms\)/,
    );
    // not before the rollout's time is up, and bounded: the timeout plus a grace of 2s
    expect(tookMs).toBeGreaterThanOrEqual(1_000);
    expect(tookMs).toBeLessThan(4_500);
  });
});

describe('podRestart check', () => {
  it('passes when the context exists and can-i says yes, asking in that order', async () => {
    await expect(podRestart(scoped).check()).resolves.toBeUndefined();
    expect(kubectl.calls()).toEqual([
      ['config', 'get-contexts', '-o', 'name'],
      ['--context', 'kind-gameday', '-n', 'shop', 'auth', 'can-i', 'patch', 'deployment/checkout'],
    ]);
  });

  it('without a context, asks only can-i', async () => {
    await expect(podRestart(spec()).check()).resolves.toBeUndefined();
    expect(kubectl.calls()).toEqual([['auth', 'can-i', 'patch', 'deployment/checkout']]);
  });

  it('fails for a context the kubeconfig does not have, listing the ones it has', async () => {
    await expect(podRestart(spec({ context: 'nosuch' })).check()).rejects.toThrow(
      `kubectl context nosuch does not exist (have: ${recordedContexts().join(', ')})`,
    );
    expect(kubectl.calls()).toHaveLength(1);
  });

  it('fails when can-i says no', async () => {
    kubectl.setScenario({ canI: 'no' });
    await expect(podRestart(scoped).check()).rejects.toThrow(
      'kubectl auth can-i patch deployment/checkout says no: kubectl may not restart it',
    );
  });

  it('tells a kubectl that cannot ask (credentials expired) from one that says no', async () => {
    kubectl.setScenario({ canI: 'unauthorized' });
    await expect(podRestart(scoped).check()).rejects.toThrow(
      'could not ask whether kubectl may restart deployment/checkout: `kubectl --context kind-gameday -n shop auth can-i patch deployment/checkout` failed (exit 1): error: You must be logged in to the server (Unauthorized)',
    );
  });

  it('fails naming kubectl when there is none on PATH', async () => {
    vi.stubEnv('PATH', emptyDir);
    await expect(podRestart(scoped).check()).rejects.toThrow('pod-restart: kubectl not found on PATH (or not executable)');
    expect(kubectl.calls()).toEqual([]);
  });

  it('uses GAMEDAY_KUBECTL over PATH, and opts.kubectl over both', async () => {
    const named = installStandInKubectl();
    try {
      vi.stubEnv('GAMEDAY_KUBECTL', named.program);
      await expect(podRestart(spec()).check()).resolves.toBeUndefined();
      expect(named.calls()).toHaveLength(1);
      expect(kubectl.calls()).toHaveLength(0);

      await expect(podRestart(spec(), { kubectl: kubectl.program }).run()).resolves.toBeUndefined();
      expect(kubectl.calls()).toHaveLength(2);
      expect(named.calls()).toHaveLength(1);

      vi.stubEnv('GAMEDAY_KUBECTL', join(emptyDir, 'kubectl'));
      await expect(podRestart(spec()).check()).rejects.toThrow(`pod-restart: ${join(emptyDir, 'kubectl')} not found on PATH`);
    } finally {
      named.remove();
    }
  });
});
