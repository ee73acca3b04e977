// The key reducer's store inside App: a ref, which every key of a burst reads and writes before React
// re-renders, and React state to draw. Effects run before the state is drawn, so the emergency stop
// goes out before any render.
import { useCallback, useEffect, useRef, useState } from 'react';
import type { Key } from 'ink';
import type { ReplayControls } from '../src/state/replay-player.ts';
import type { GamedayStore, RunControls } from '../src/state/store.ts';
import {
  INITIAL_KEY_STATE,
  contextOf,
  noticeExpired,
  pressesOf,
  reduceKey,
  runFinished,
  type KeyEffect,
  type KeyResult,
  type KeyState,
} from './key-reducer.ts';

const NOTICE_MS = 4000;

function perform(effect: KeyEffect, controls: RunControls, onQuit: () => void, replay: ReplayControls | undefined): void {
  switch (effect.type) {
    case 'emergency-stop':
      return controls.emergencyStop(effect.source);
    case 'rollback-now':
      return controls.rollbackNow();
    case 'toggle-pause':
      return controls.togglePause();
    case 'add-note':
      return controls.addNote(effect.text);
    case 'quit':
      return onQuit();
    case 'replay-pause':
      return replay?.togglePause();
    case 'seek':
      return replay?.seekBy(effect.deltaMs);
    case 'speed':
      return effect.faster ? replay?.faster() : replay?.slower();
  }
}

export interface UseKeysOptions {
  store: GamedayStore;
  controls: RunControls;
  onQuit: () => void;
  /** the summary is on screen (as App draws it) */
  finished: boolean;
  /** a journal played back: the replay's keys, and the run's do nothing */
  replay?: ReplayControls;
}

export interface Keys {
  state: KeyState;
  onInput: (input: string, key: Key) => void;
}

export function useKeys({ store, controls, onQuit, finished, replay }: UseKeysOptions): Keys {
  const ref = useRef(INITIAL_KEY_STATE);
  const [state, setState] = useState(INITIAL_KEY_STATE);

  const apply = useCallback(
    ({ state: next, effects }: KeyResult) => {
      ref.current = next;
      for (const effect of effects) perform(effect, controls, onQuit, replay);
      setState(next);
    },
    [controls, onQuit, replay],
  );

  // the freshest run state for every key, not the last render's: a key may arrive between a tick
  // and its frame, and a key's effect may change the run before the next key of its burst
  const onInput = useCallback(
    (input: string, key: Key) => {
      for (const press of pressesOf(input, key)) apply(reduceKey(ref.current, press, contextOf(store.getState(), replay !== undefined)));
    },
    [store, apply, replay],
  );

  useEffect(() => {
    if (finished) apply(runFinished(ref.current));
  }, [finished, state.leaveWhenDone, apply]);

  useEffect(() => {
    const notice = state.notice;
    if (!notice) return;
    const timer = setTimeout(() => apply(noticeExpired(ref.current, notice)), NOTICE_MS);
    return () => clearTimeout(timer);
  }, [state.notice, apply]);

  return { state, onInput };
}
