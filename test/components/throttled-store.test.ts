// The control room's mirror of the store: live numbers at most every interval, events at once.
import { describe, expect, it } from 'vitest';
import { createGamedayStore, storeFace } from '../../src/state/store.ts';
import { throttledMirror } from '../../components/throttled-store.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('throttledMirror', () => {
  it('passes phase and timeline changes at once, and coalesces tick snapshots', async () => {
    const source = createGamedayStore();
    const { store, dispose } = throttledMirror(source, 200);
    let updates = 0;
    store.subscribe(() => updates++);

    source.setState({ phase: 'observe' });
    expect(store.getState().phase).toBe('observe');
    storeFace(source)({ type: 'note', ts: 1, text: 'hello', source: 'engine' });
    expect(store.getState().timeline.at(-1)?.text).toBe('hello');
    const urgentUpdates = updates;

    for (let i = 1; i <= 5; i++) source.setState({ nowMs: i });
    expect(updates - urgentUpdates).toBeLessThanOrEqual(1);
    await sleep(250);
    expect(store.getState().nowMs).toBe(5); // the last snapshot arrives, late but not lost
    expect(updates - urgentUpdates).toBeLessThanOrEqual(2);
    dispose();
    source.setState({ phase: 'done' });
    expect(store.getState().phase).toBe('observe');
  });

  it('flush copies at once what would wait for the next snapshot (a replay’s seek)', () => {
    const source = createGamedayStore();
    const { store, flush, dispose } = throttledMirror(source, 60_000);
    source.setState({ nowMs: 1 });
    source.setState({ nowMs: 2 });
    expect(store.getState().nowMs).not.toBe(2);
    flush();
    expect(store.getState().nowMs).toBe(2);
    dispose();
  });
});
