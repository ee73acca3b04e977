// PromQL guards in the config: checked at load, by field path, before anything starts.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.ts';
import { resolveRunPlan } from '../../src/config/plan.ts';
import { tempDir, writeFile } from '../helpers/cli.ts';

const dir = tempDir('gameday-promql-config-');
function problems(yaml: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    resolveRunPlan({ experiment: writeFile(dir, `e${Math.random()}.yaml`, yaml), metricsPort: '0' }, env);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}
const base = 'name: x\nfault: { type: latency, latency: 1ms }\n';

describe('PromQL guards at load', () => {
  it('a good guard resolves, with the defaults and the Prometheus from the environment', () => {
    const plan = resolveRunPlan(
      {
        experiment: writeFile(dir, 'ok.yaml', `${base}slo:\n  queries: [{ name: p95, query: 'histogram_quantile(0.95, x)', max: 0.5 }]\n`),
        metricsPort: '0',
      },
      { GAMEDAY_PROMETHEUS_URL: 'http://127.0.0.1:9090/' },
    );
    expect(plan.slo.queries).toEqual([{ name: 'p95', query: 'histogram_quantile(0.95, x)', max: 0.5, breachFor: 1 }]);
    expect(plan.slo).toMatchObject({ inconclusiveLimit: 3, queryEveryMs: 1000 });
    expect(plan.prometheus).toEqual({ url: 'http://127.0.0.1:9090', timeoutMs: 2000 });
  });

  it('invalid PromQL, a missing or double bound, a duplicate name: each by field path', () => {
    const p = problems(
      `${base}prometheus: { url: http://127.0.0.1:9090 }\nslo:\n  queries:\n` +
        `    - { name: broken, query: "sum(rate(x[1m])", max: 1 }\n` +
        `    - { name: unbounded, query: up }\n` +
        `    - { name: both, query: up, max: 1, min: 0 }\n` +
        `    - { name: both, query: up, min: 1, breachFor: 0, reduce: avg }\n`,
    );
    expect(p).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/slo\.queries\.0\.query: not valid PromQL: syntax error at character \d+/),
        expect.stringMatching(/slo\.queries\.1\.max: give exactly one of max \(breach when above\) or min \(breach when below\)/),
        expect.stringMatching(/slo\.queries\.2\.max: give exactly one of max/),
        expect.stringMatching(/slo\.queries\.3\.breachFor: at least 1/),
        expect.stringMatching(/slo\.queries\.3\.reduce: /),
      ]),
    );
  });

  it('guards need a Prometheus; an observe-only run needs a guard; the limits are bounded', () => {
    expect(problems(`${base}slo:\n  queries: [{ name: up, query: up, min: 1 }]\n`)).toEqual([
      'prometheus.url: required by slo.queries (in the experiment or config file, or GAMEDAY_PROMETHEUS_URL)',
    ]);
    expect(problems(`${base}traffic: { rps: 0 }\n`)).toEqual([
      'traffic.rps: 0 (observe-only: no synthetic traffic) needs at least one slo.queries guard to watch the SLOs',
    ]);
    expect(problems(`${base}slo: { inconclusiveLimit: 0, queryEvery: 10ms }\n`)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/slo\.inconclusiveLimit: at least 1/),
        expect.stringMatching(/slo\.queryEvery: from 100ms to 1h/),
      ]),
    );
    expect(problems(`${base}prometheus: { url: 'ftp://x' }\nslo:\n  queries: [{ name: up, query: up, min: 1 }]\n`)).toEqual(
      expect.arrayContaining([expect.stringMatching(/prometheus\.url: /)]),
    );
  });
});
