// The faces' state comes from the engine's events alone, so a journal (every event of a run) rebuilds
// any screen: at the end of a real run against the embedded demo (a latency breach, a rollback, a
// recovery), the state rebuilt from the journal file equals the live control-room store.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemoryBudget } from '../../src/budget/budget.ts';
import { resolveRunPlan } from '../../src/config/plan.ts';
import { ExperimentRun } from '../../src/engine/run.ts';
import { JournalWriter, readJournal } from '../../src/headless/journal.ts';
import { reduce } from '../../src/state/reducer.ts';
import { stateAt } from '../../src/state/replay-cursor.ts';
import { ReplayPlayer } from '../../src/state/replay-player.ts';
import { createGamedayStore, initialState, storeFace } from '../../src/state/store.ts';
import { tempDir } from '../helpers/cli.ts';

describe('replay', () => {
  it("rebuilds the live store from a journal's events", async () => {
    const plan = resolveRunPlan({ experimentType: 'latency', duration: '20s', rps: '50', metricsPort: '0' }, {});
    plan.schedule.warmupMs = 200;
    plan.schedule.baselineMs = 1000;
    plan.schedule.recoveryWindowMs = 1000;
    const path = join(tempDir('gameday-replay-'), 'run.json');
    const journal = JournalWriter.open(
      path,
      { experimentId: 'replay01', name: plan.name, startedAt: new Date().toISOString(), plan: {} },
      (s) => s,
    );
    const run = new ExperimentRun({
      plan,
      experimentId: 'replay01',
      budget: new MemoryBudget({ costPerRequestUsd: 0.001, experimentCapUsd: 100, dayCapUsd: 500 }),
      journalPath: () => path,
    });
    const live = createGamedayStore();
    run.onEvent(journal.record);
    run.onEvent(storeFace(live));
    run.addNote('a note from the team');

    const summary = await run.run();
    journal.close();
    expect(summary.status).toBe('breach');

    const { events } = await readJournal(path, { allEvents: true });
    const kinds = new Set(events.map((e) => e.type));
    for (const k of ['experiment', 'phase', 'preflight', 'tick', 'baseline', 'fault', 'breach', 'rollback', 'note', 'summary'])
      expect(kinds).toContain(k);
    const replayed = events.reduce(reduce, initialState());
    expect(replayed).toEqual(live.getState());
    // and what the screen shows is really there
    expect(replayed.summary).toEqual(summary);
    expect(replayed.phasesVisited).toEqual(['preflight', 'baseline', 'inject', 'observe', 'rollback', 'verify', 'done']);
    expect(replayed.timeline.some((t) => t.text === 'note: a note from the team')).toBe(true);
    expect(replayed.history.length).toBeGreaterThan(10);

    // gameday replay's own path: the cursor (through its checkpoints) and the player, to the end
    expect(stateAt(events, events.length)).toEqual(live.getState());
    const store = createGamedayStore();
    const player = new ReplayPlayer(events, { speed: 1000, store });
    player.start();
    await player.ended;
    expect(store.getState()).toEqual(live.getState());
    // and a seek back to the start of the fault shows the run as it was then
    const fault = events.find((e) => e.type === 'fault' && e.state === 'in')!;
    player.seekBy(fault.ts - player.positionMs());
    expect(store.getState()).toMatchObject({ faultActive: true, rollbackTrigger: null, summary: null });
    expect(['inject', 'observe']).toContain(store.getState().phase);
    player.dispose();
  });
});
