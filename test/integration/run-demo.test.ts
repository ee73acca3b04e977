// The engine end to end against the embedded demo, through the real CLI in a child process.
import { describe, expect, it } from 'vitest';
import { runCli, summaryOf, tempDir, writeFile } from '../helpers/cli.ts';

function experiment(dir: string, name: string, body: string): string {
  return writeFile(dir, `${name}.yaml`, `name: ${name}\n${body}`);
}

const common = (dir: string) => ['--headless', '--output', 'json', '--state-dir', dir, '--metrics-port', '0'];

describe('gameday run against the embedded demo', () => {
  it('800 ms latency on every dependency call at 100 rps: breach, rollback, recovery verified (exit 3)', async () => {
    const dir = tempDir();
    const file = experiment(
      dir,
      'latency-800',
      `traffic: { rps: 100 }
fault: { type: latency, latency: 800ms, probability: 1.0 }
schedule: { baseline: 3s, duration: 30s, recoveryWindow: 2s }
rollback: [traffic-shift]
`,
    );
    const r = await runCli(['run', '--experiment', file, ...common(dir)]);
    const s = summaryOf(r);
    expect(r.code, r.stderr).toBe(3);
    expect(s.status).toBe('breach');
    expect(s.trigger).toBe('breach');
    expect(s.faultRemoved).toBe(true);
    expect(s.recoveryVerified).toBe(true);
    expect(s.detectionMs).not.toBeNull();
    expect(s.detectionMs!).toBeLessThanOrEqual(1500);
    expect(s.recoveryMs!).toBeGreaterThan(0);
    // the order of things: breach → rollback (fault out first) → verify → done
    const kinds = r.events.filter((e) => e.type !== 'tick').map((e) => (e.type === 'phase' ? `phase:${e.phase}` : e.type));
    const at = (k: string) => kinds.indexOf(k);
    expect(at('phase:inject')).toBeGreaterThan(at('phase:baseline'));
    expect(at('breach')).toBeGreaterThan(at('phase:observe'));
    expect(at('phase:rollback')).toBeGreaterThan(at('breach'));
    expect(at('phase:verify')).toBeGreaterThan(at('phase:rollback'));
    const steps = r.events.filter((e) => e.type === 'rollback' && e.result === 'ok').map((e) => (e.type === 'rollback' ? e.step : ''));
    expect(steps).toEqual(['remove-fault', 'traffic-shift']);
    // spend is exactly requests × cost
    expect(s.spentUsd).toBeCloseTo(s.requests * 0.001, 9);
  });

  it('503 on 20 % of dependency calls breaches the error SLO with the default defences (exit 3)', async () => {
    const dir = tempDir();
    const file = experiment(
      dir,
      'errors-20',
      `traffic: { rps: 100 }
fault: { type: errors, status: 503, probability: 0.2 }
schedule: { baseline: 3s, duration: 20s, recoveryWindow: 2s }
`,
    );
    const r = await runCli(['run', '--experiment', file, ...common(dir)]);
    const s = summaryOf(r);
    expect(r.code, r.stderr).toBe(3);
    const breach = r.events.find((e) => e.type === 'breach');
    expect(breach && breach.type === 'breach' && breach.breaches.map((b) => ('sli' in b ? b.sli : b.guard))).toContain('errorRate');
    expect(s.recoveryVerified).toBe(true);
  });

  it('the same fault is absorbed when the demo has its cached fallback on (exit 0)', async () => {
    const dir = tempDir();
    const file = experiment(
      dir,
      'errors-20-fallback',
      `traffic: { rps: 100 }
fault: { type: errors, status: 503, probability: 0.2 }
schedule: { baseline: 3s, duration: 6s, recoveryWindow: 2s }
demo: { fallback: true }
`,
    );
    const r = await runCli(['run', '--experiment', file, ...common(dir)]);
    const s = summaryOf(r);
    expect(r.code, r.stderr + JSON.stringify(s)).toBe(0);
    expect(s.status).toBe('passed');
    expect(s.trigger).toBe('duration');
    expect(r.events.some((e) => e.type === 'breach')).toBe(false);
  });

  it('50 ms latency on 10 % of calls runs its whole duration and passes (exit 0)', async () => {
    const dir = tempDir();
    const file = experiment(
      dir,
      'latency-50-10pct',
      `traffic: { rps: 100 }
fault: { type: latency, latency: 50ms, probability: 0.1 }
schedule: { baseline: 3s, duration: 6s, recoveryWindow: 2s }
`,
    );
    const started = Date.now();
    const r = await runCli(['run', '--experiment', file, ...common(dir)]);
    const s = summaryOf(r);
    expect(r.code, r.stderr + JSON.stringify(s)).toBe(0);
    expect(s.trigger).toBe('duration');
    const inject = r.events.find((e) => e.type === 'phase' && e.phase === 'inject')!;
    const rollback = r.events.find((e) => e.type === 'phase' && e.phase === 'rollback')!;
    expect(rollback.ts - inject.ts).toBeGreaterThanOrEqual(6000);
    expect(Date.now() - started).toBeGreaterThan(9000);
  });
});
