// The screen does not need every engine tick: a frame costs 20–30 ms of CPU, the engine ticks four
// times a second. The control room reads a mirror of the store that follows it at most every
// `intervalMs`, except for what a person must see at once (phase, fault state, timeline, summary).
import { createStore } from 'zustand/vanilla';
import type { GamedayState, GamedayStore } from '../src/state/store.ts';

const URGENT: readonly (keyof GamedayState)[] = [
  'phase',
  'faultActive',
  'faultPaused',
  'timeline',
  'preflight',
  'summary',
  'rollbackTrigger',
  'experiment',
];

export interface Mirror {
  store: GamedayStore;
  /** copies the source now (a replay's seek is shown at once, whatever changed) */
  flush(): void;
  dispose(): void;
}

export function throttledMirror(source: GamedayStore, intervalMs: number): Mirror {
  const mirror = createStore<GamedayState>()(() => source.getState());
  let lastMs = 0;
  let timer: NodeJS.Timeout | null = null;
  const copy = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    lastMs = Date.now();
    mirror.setState(source.getState(), true);
  };
  const unsubscribe = source.subscribe((state, prev) => {
    if (URGENT.some((k) => state[k] !== prev[k])) return copy();
    const waitMs = intervalMs - (Date.now() - lastMs);
    if (waitMs <= 0) copy();
    else timer ??= setTimeout(copy, waitMs);
  });
  return {
    store: mirror,
    flush: copy,
    dispose() {
      unsubscribe();
      if (timer) clearTimeout(timer);
    },
  };
}
