// Every pane from fixed store states: the numbers a game-day team reads off the screen.
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, render } from 'ink-testing-library';
import { createGamedayStore } from '../../src/state/store.ts';
import { BudgetPane } from '../../components/BudgetPane.tsx';
import { Header, progressFor } from '../../components/Header.tsx';
import { HelpOverlay } from '../../components/HelpOverlay.tsx';
import { ImpactPane } from '../../components/ImpactPane.tsx';
import { KeyHints } from '../../components/KeyHints.tsx';
import { NoteInput } from '../../components/NoteInput.tsx';
import { PreflightPane } from '../../components/PreflightPane.tsx';
import { SloPane, sliSparkline, sliState } from '../../components/SloPane.tsx';
import { SummaryScreen } from '../../components/SummaryScreen.tsx';
import { TimelinePane } from '../../components/TimelinePane.tsx';
import { SPARK_TICKS } from '../../components/sparkline.ts';
import { T0, entry, finishedStore, history, liveState, liveStore } from './fixtures.ts';
import { plain } from './render-at.ts';

afterEach(() => cleanup());

const frame = (r: { lastFrame: () => string | undefined }) => plain(r.lastFrame() ?? '');
const lines = (text: string) => text.split('\n');

describe('Header', () => {
  it('shows experiment, target, fault, phase, elapsed and remaining time', () => {
    const out = frame(render(<Header store={liveStore()} width={120} />));
    expect(out).toContain('checkout-latency');
    expect(out).toContain('http://127.0.0.1:8080 (demo)');
    expect(out).toContain('latency 800ms ±50ms');
    expect(out).toContain('200 rps');
    expect(out).toContain('OBSERVE');
    expect(out).toContain('✓baseline');
    expect(out).toContain('elapsed 0:41');
    expect(out).toContain('0:35 / 1:00 · 0:25 left');
    expect(out).toContain('FAULT ACTIVE');
    expect(out).toMatch(/fault\s+█+/);
    expect(lines(out)).toHaveLength(3);
  });
  it('shows a paused fault and the summary status when done', () => {
    expect(frame(render(<Header store={liveStore({ faultPaused: true })} width={120} />))).toContain('FAULT PAUSED');
    const done = frame(render(<Header store={finishedStore()} width={120} />));
    expect(done).toContain('SLO BREACH · exit 3');
    expect(done).toContain('DONE');
    expect(done).toContain('✓inject ✓observe ✓rollback ✓verify');
  });
  it('ticks only the phases a run went through: a refused run never injected', () => {
    const refused = frame(render(<Header store={finishedStore({ phasesVisited: ['preflight', 'baseline', 'done'] })} width={120} />));
    expect(refused).toContain('✓preflight ✓baseline ·inject ·observe ·rollback ·verify');
  });
  it('measures the baseline before the fault and says loading without an experiment', () => {
    const p = progressFor(
      'baseline',
      { phaseStartedAtMs: 0, startedAtMs: 0, faultStartedAtMs: null, nowMs: 3_000, faultPaused: false },
      5_000,
      60_000,
    );
    expect(p.fraction).toBeCloseTo(0.6);
    expect(p.right).toContain('fault in 0:02');
    expect(frame(render(<Header store={createGamedayStore()} width={100} />))).toContain('loading experiment');
  });
});

describe('BudgetPane', () => {
  it('shows experiment and daily spend against their caps, burn rate, time to cap, requests', () => {
    const out = frame(render(<BudgetPane store={liveStore()} width={80} bordered />));
    expect(out).toContain('Budget burn');
    expect(out).toContain('$31.20 / $50.00');
    expect(out).toContain('62%');
    expect(out).toContain('$112.34 / $500.00');
    expect(out).toContain('22%');
    expect(out).toContain('$12.00/min');
    expect(out).toContain('cap in 1:34');
    expect(out).toContain('31,200 requests');
    expect(out).toContain('$0.001/req');
    expect(out).toContain('$20.00 reserved');
    expect(out).toMatch(/experiment\s+█+/);
    expect(out).toContain('▒');
  });
  it('says CAP and CAP REACHED at 100 % (not by colour alone)', () => {
    const s = liveState();
    const store = createGamedayStore({ ...s, budget: { ...s.budget!, experimentSpentUsd: 50, timeToCapMs: 0 } });
    const out = frame(render(<BudgetPane store={store} width={80} bordered />));
    expect(out).toContain('$50.00 / $50.00');
    expect(out).toContain('CAP REACHED');
    expect(out).toMatch(/\$50\.00 \/ \$50\.00\s+CAP/);
  });
  it('shows no cap and no time to cap before the budget is known', () => {
    const out = frame(render(<BudgetPane store={createGamedayStore()} width={80} bordered={false} />));
    expect(out).toContain('$0.00 / no cap');
    expect(out).toContain('cap in —');
  });
});

describe('SloPane', () => {
  it('shows each SLI against its objective with its state', () => {
    const out = frame(render(<SloPane store={liveStore()} width={80} bordered />));
    expect(out).toContain('1 BREACHING');
    const row = (label: string) => lines(out).find((l) => l.includes(label)) ?? '';
    expect(row('p95 latency')).toMatch(/812ms\s+≤ 500ms/);
    expect(row('p95 latency')).toContain('BREACH');
    expect(row('error rate')).toMatch(/0\.12%\s+≤ 1\.00%/);
    expect(row('error rate')).toMatch(/ok\s*│?$/);
    expect(row('availability')).toMatch(/99\.95%\s+≥ 99\.00%/);
    expect(row('health')).toMatch(/0 failed\s+< 3 failed/);
    expect(out).toContain('baseline: p95 42ms');
    expect(out).toContain('198 req/s');
  });
  it('draws a sparkline of the last 60 s that rises with the latency', () => {
    const out = frame(render(<SloPane store={liveStore()} width={80} bordered />));
    const row = lines(out).find((l) => l.includes('p95 latency')) ?? '';
    expect(row).toContain('▁');
    expect(row).toContain('█');
    expect(row.indexOf('▁')).toBeLessThan(row.indexOf('█'));
    const spark = sliSparkline(
      'p95LatencyMs',
      history(10, (i) => ({ p95LatencyMs: i * 100 })),
      500,
      10,
    );
    expect(spark).toBe(SPARK_TICKS[0] + spark.slice(1));
    expect(spark.endsWith('█')).toBe(true);
  });
  it('judges states like the engine: above, below, reaching, and near at 80 %', () => {
    expect(sliState('p95LatencyMs', 500, 500)).toBe('near');
    expect(sliState('p95LatencyMs', 501, 500)).toBe('breach');
    expect(sliState('p95LatencyMs', 100, 500)).toBe('ok');
    expect(sliState('errorRate', 0.02, 0.01)).toBe('breach');
    expect(sliState('availability', 0.985, 0.99)).toBe('breach');
    expect(sliState('availability', 0.991, 0.99)).toBe('near');
    expect(sliState('availability', 1, 0.99)).toBe('ok');
    expect(sliState('healthFailures', 3, 3)).toBe('breach');
    expect(sliState('healthFailures', 1, 3)).toBe('near');
    expect(sliState('healthFailures', undefined, 3)).toBe('unknown');
  });
  it('calls nothing BREACH on fewer samples than the engine judges (health needs none)', () => {
    const s = liveState();
    const slis = { ...s.slis!, samples: 12, errorRate: 0.5, availability: 0.5 };
    const out = frame(render(<SloPane store={liveStore({ slis, minSamples: 20 })} width={80} bordered />));
    const row = (label: string) => lines(out).find((l) => l.includes(label)) ?? '';
    for (const label of ['p95 latency', 'error rate', 'availability']) {
      expect(row(label)).toContain('low n');
      expect(row(label)).not.toContain('BREACH');
    }
    expect(out).not.toContain('BREACHING');
    expect(out).toContain('low n: judged from 20 requests');
    const health = frame(
      render(<SloPane store={liveStore({ slis: { ...slis, healthFailures: 3 }, minSamples: 20 })} width={80} bordered />),
    );
    expect(health).toContain('1 BREACHING');
    expect(lines(health).find((l) => l.includes('health'))).toContain('BREACH');
    // at the minimum the engine judges, and so does the pane
    const enough = frame(render(<SloPane store={liveStore({ slis: { ...slis, samples: 20 }, minSamples: 20 })} width={80} bordered />));
    expect(enough).toContain('3 BREACHING');
    expect(sliState('p95LatencyMs', 812, 500, false)).toBe('low');
    expect(sliState('p95LatencyMs', 100, 500, false)).toBe('ok');
    expect(sliState('healthFailures', 3, 3, false)).toBe('breach');
  });
  it('waits for data before the first window', () => {
    const out = frame(render(<SloPane store={createGamedayStore()} width={80} bordered={false} />));
    expect(out).toContain('waiting for data');
    expect(out).toContain('p95 latency');
    expect(out).toContain('≤ 500ms');
  });
});

describe('ImpactPane', () => {
  it('shows the score, its band, the driving SLI and the peak', () => {
    const out = frame(render(<ImpactPane store={liveStore()} width={60} bordered />));
    expect(out).toContain('73/100');
    expect(out).toContain('HIGH');
    expect(out).toContain('driven by p95 latency');
    expect(out).toContain('peak so far 81/100');
    expect(out).toContain('peak 81');
    expect(out).toMatch(/last 60s .*█/);
  });
  it('reads none with no driver at rest', () => {
    const out = frame(render(<ImpactPane store={createGamedayStore()} width={60} bordered={false} />));
    expect(out).toContain('0/100');
    expect(out).toContain('NONE');
    expect(out).toContain('driven by —');
  });
  it.each(['low', 'moderate', 'critical'] as const)('names the %s band', (band) => {
    const out = frame(
      render(<ImpactPane store={liveStore({ impact: { score: 50, band, driver: 'errorRate', peak: 60 } })} width={60} bordered />),
    );
    expect(out).toContain(band.toUpperCase());
    expect(out).toContain('driven by error rate');
  });
});

describe('TimelinePane', () => {
  it('lists entries with their time since the start, kind and duration', () => {
    const store = liveStore();
    store.setState({ timeline: [...store.getState().timeline, entry(41_000, 'rollback', 'remove-fault ok', { durationMs: 120 })] });
    const out = frame(render(<TimelinePane store={store} width={100} bordered maxEntries={20} />));
    expect(out).toContain('+0:06.0');
    expect(out).toContain('inject: latency 800ms');
    expect(out).toContain('✎ note');
    expect(out).toContain('cache fallback not kicking in');
    expect(out).toContain('remove-fault ok (120ms)');
    expect(out).toContain('7 events');
  });
  it('is bounded to the newest entries that fit', () => {
    const timeline = Array.from({ length: 50 }, (_, i) => entry(i * 1000, 'breach', `breach number ${i}`, { severity: 'critical' }));
    const store = liveStore({ timeline });
    const out = frame(render(<TimelinePane store={store} width={100} bordered={false} maxEntries={4} />));
    expect(out).toContain('last 4 of 50');
    expect(out).toContain('breach number 49');
    expect(out).toContain('breach number 46');
    expect(out).not.toContain('breach number 45');
    expect(lines(out)).toHaveLength(5);
  });
  it('keeps each entry on one line', () => {
    const store = liveStore({ timeline: [entry(1000, 'note', 'a very long note '.repeat(20) + '\nwith a newline')] });
    const out = frame(render(<TimelinePane store={store} width={60} bordered maxEntries={3} />));
    expect(lines(out)).toHaveLength(3);
  });
});

describe('PreflightPane', () => {
  it('shows each check as it passes, fails or runs', () => {
    const store = createGamedayStore({
      preflight: [
        { name: 'budget', status: 'pass', detail: '$387.66 left today' },
        { name: 'proxy listen address', status: 'fail', detail: '127.0.0.1:7001 in use' },
        { name: 'rollback plan', status: 'pending', detail: '' },
      ],
    });
    const out = frame(render(<PreflightPane store={store} width={80} bordered maxLines={10} />));
    expect(out).toContain('✓ budget');
    expect(out).toContain('$387.66 left today');
    expect(out).toContain('✗ proxy listen address');
    expect(out).toContain('127.0.0.1:7001 in use');
    expect(out).toContain('○ rollback plan');
    expect(out).toContain('REFUSED · 1 failed');
  });
  it('counts passes and summarises what does not fit', () => {
    const preflight = Array.from({ length: 6 }, (_, i) => ({ name: `check ${i}`, status: 'pass' as const, detail: 'ok' }));
    const out = frame(render(<PreflightPane store={createGamedayStore({ preflight })} width={80} bordered={false} maxLines={3} />));
    expect(out).toContain('6/6 passed');
    expect(out).toContain('… 4 more: 4 passed');
    expect(out).toContain('check 5');
    expect(out).not.toContain('check 3');
  });
  it('says it is running before the first check reports', () => {
    expect(frame(render(<PreflightPane store={createGamedayStore()} width={80} bordered maxLines={3} />))).toContain(
      'running safety checks',
    );
  });
});

describe('SummaryScreen', () => {
  it('shows status, detection and recovery, spend, peak impact and the journal', () => {
    const out = frame(render(<SummaryScreen store={finishedStore()} width={100} bordered />));
    expect(out).toContain('SLO BREACH — rolled back and recovered');
    expect(out).toContain('exit code 3');
    expect(out).toContain('detection     1.05s · recovery 2.30s');
    expect(out).toContain('$31.20 · 31,200 requests');
    expect(out).toContain('81/100');
    expect(out).toContain('/tmp/gameday/journal-exp-7f3a.ndjson');
    expect(out).toContain('p95 latency 812ms > 500ms');
  });
  it("takes the journal from the run's summary", () => {
    const store = finishedStore();
    store.setState({ summary: { ...store.getState().summary!, journalPath: '/var/tmp/j.ndjson' } });
    const out = frame(render(<SummaryScreen store={store} width={100} bordered />));
    expect(out).toContain('journal       /var/tmp/j.ndjson');
    expect(out).toContain('report: gameday report /var/tmp/j.ndjson');
    store.setState({ summary: { ...store.getState().summary!, journalPath: null } });
    const none = frame(render(<SummaryScreen store={store} width={100} bordered />));
    expect(none).toContain('journal       —');
    expect(none).toContain('press q to leave');
  });
  it('is loud when the rollback failed', () => {
    const store = finishedStore();
    store.setState({
      summary: { ...store.getState().summary!, status: 'rollback-failed', exitCode: 6, faultRemoved: false, recoveryVerified: null },
    });
    const out = frame(render(<SummaryScreen store={store} width={100} bordered />));
    expect(out).toContain('ROLLBACK FAILED — FAULTS MAY REMAIN');
    expect(out).toContain('exit code 6');
    expect(out).toContain('fault removed NO');
    expect(out).toContain('gameday recover');
  });
  it('draws nothing before the run ends', () => {
    expect(frame(render(<SummaryScreen store={liveStore()} width={100} bordered />))).toBe('');
  });
});

describe('chrome', () => {
  it('key hints offer the emergency stop first and dim what does nothing', () => {
    const out = frame(render(<KeyHints faultActive faultPaused={false} finished={false} />));
    expect(out).toMatch(/^ x\/! EMERGENCY STOP/);
    expect(out).toContain('r roll back');
    expect(out).toContain('p pause');
    expect(frame(render(<KeyHints faultActive faultPaused finished={false} />))).toContain('p resume');
    expect(frame(render(<KeyHints faultActive={false} faultPaused={false} finished exitCode={4} />))).toContain('exit code 4');
  });
  it('the note line shows what is typed', () => {
    const out = frame(render(<NoteInput value="cache is cold" width={80} />));
    expect(out).toContain('note › cache is cold');
    expect(out).toContain('Enter adds');
  });
  it('help lists every key', () => {
    const out = frame(render(<HelpOverlay width={110} bordered />));
    for (const k of ['EMERGENCY STOP', 'Ctrl+C', 'roll back now', 'pause / resume', 'note', 'quit', 'Exit codes']) expect(out).toContain(k);
  });
  it('timestamps count from the run start', () => {
    const store = liveStore({ timeline: [entry(65_300, 'phase', 'rollback')], startedAtMs: T0 });
    expect(frame(render(<TimelinePane store={store} width={80} bordered maxEntries={3} />))).toContain('+1:05.3');
  });
});
