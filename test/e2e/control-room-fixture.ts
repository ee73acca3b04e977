// A control room on a real terminal with a scripted stand-in for the engine, for the tmux tests of
// the components (the run command's own e2e tests drive the real engine). Exits with the summary's
// exit code once the user quits, like `gameday run`.
//   node --import tsx test/e2e/control-room-fixture.ts
import { createGamedayStore, storeFace, type RunControls } from '../../src/state/store.ts';
import type { RunStatus, Summary } from '../../src/engine/events.ts';
import { EXIT_CODE } from '../../src/engine/events.ts';
import { renderControlRoom } from '../../components/render-control-room.tsx';
import { canRenderControlRoom } from '../../src/headless/face-choice.ts';
import { liveState } from '../components/fixtures.ts';

const start = Date.now();
const base = liveState();
const store = createGamedayStore({
  ...base,
  startedAtMs: start,
  phaseStartedAtMs: start,
  faultStartedAtMs: start,
  nowMs: start,
  history: [],
  timeline: [],
});
// timeline entries come from events, as in a real run
const face = storeFace(store);
face({ type: 'phase', ts: start, phase: 'observe', detail: 'latency 800ms (fixture)' });

let ending = false;
function finish(status: RunStatus, trigger: Summary['trigger'], reason: string): void {
  if (ending) return;
  ending = true;
  store.setState({ phase: 'rollback', faultActive: false, phaseStartedAtMs: Date.now() });
  face({ type: 'rollback', ts: Date.now(), step: 'remove-fault', result: 'ok', attempt: 1, durationMs: 12 });
  setTimeout(() => {
    const s = store.getState();
    store.setState({
      phase: 'done',
      summary: {
        status,
        exitCode: EXIT_CODE[status],
        experiment: s.experiment?.name ?? 'fixture',
        experimentId: s.experiment?.id ?? 'fixture',
        spentUsd: s.budget.experimentSpentUsd,
        requests: s.budget.requestsSent,
        detectionMs: 1_050,
        recoveryMs: 300,
        peakImpact: s.impact.peak,
        trigger,
        reason,
        faultRemoved: true,
        recoveryVerified: true,
        durationMs: Date.now() - start,
        journalPath: null,
      },
    });
  }, 300);
}

const controls: RunControls = {
  emergencyStop: (source) => {
    face({ type: 'emergency-stop', ts: Date.now(), source });
    finish('stopped', 'emergency-stop', `emergency stop: ${source}`);
  },
  rollbackNow: () => finish('passed', 'manual', 'rolled back by hand'),
  togglePause: () => store.setState({ faultPaused: !store.getState().faultPaused }),
  addNote: (text) => face({ type: 'note', ts: Date.now(), text, source: 'user' }),
};

const timer = setInterval(() => {
  const now = Date.now();
  const s = store.getState();
  const i = s.history.length;
  const p95 = 40 + ((i * 37) % 300);
  store.setState({
    nowMs: now,
    history: [
      ...s.history,
      { tMs: now, p95LatencyMs: p95, errorRate: 0, availability: 1, healthFailures: 0, impact: Math.min(100, p95 / 5) },
    ].slice(-240),
    budget: { ...s.budget, experimentSpentUsd: s.budget.experimentSpentUsd + 0.05, requestsSent: s.budget.requestsSent + 50 },
  });
}, 250);

if (!canRenderControlRoom(process.stdin, process.stdout)) {
  console.error('not a terminal');
  process.exit(1);
}
const room = renderControlRoom({ store, controls });
await room.waitUntilExit();
clearInterval(timer);
process.exitCode = store.getState().summary?.exitCode ?? EXIT_CODE.stopped;
