// The one entry point business code uses: the run command calls renderControlRoom and never JSX.
import { render } from 'ink';
import { NO_RUN, type ReplaySource } from '../src/state/replay-player.ts';
import type { GamedayStore, RunControls } from '../src/state/store.ts';
import { App, type FrameSignal } from './App.tsx';
import { withIncrementalFix } from './ink-incremental-fix.ts';
import { throttledMirror } from './throttled-store.ts';

/** the engine ticks every 250 ms; 12 frames a second is smooth and cheap */
const MAX_FPS = 12;
/** the live numbers (SLIs, budget) redraw once a second (a dashboard pace); phases, keys and events at once */
const SNAPSHOT_EVERY_MS = 1000;

export interface ControlRoomOptions {
  store: GamedayStore;
  /** the run's controls; a replay has none */
  controls?: RunControls;
  /** a journal played back (gameday replay) */
  replay?: ReplaySource;
  stdout?: NodeJS.WriteStream;
  stdin?: NodeJS.ReadStream;
  /** redraw only the lines that changed (default true; see ink-incremental-fix.ts) */
  incrementalRendering?: boolean;
}

export interface ControlRoom {
  /** resolves once the user has quit (after the summary, or after Ctrl+C) or unmount() was called */
  waitUntilExit(): Promise<void>;
  /** tears the control room down (the last frame stays on the terminal) */
  unmount(): void;
}

export function renderControlRoom(opts: ControlRoomOptions): ControlRoom {
  let unmounted = false;
  const frameListeners = new Set<() => void>();
  const frames: FrameSignal = {
    subscribe(listener) {
      frameListeners.add(listener);
      return () => frameListeners.delete(listener);
    },
  };
  const incremental = opts.incrementalRendering ?? true;
  const stdout = opts.stdout ?? process.stdout;
  // A closed terminal (EIO/EPIPE on write) must not crash gameday mid-experiment: stop drawing and
  // let SIGHUP's rollback run. Other stream errors are rethrown as before.
  const onStreamError = (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EIO' && err.code !== 'EPIPE') throw err;
    unmount();
  };
  // Stays attached: src/commands/run.ts writes the summary here after unmount and relies on it for EPIPE/EIO.
  stdout.on('error', onStreamError);
  const mirror = throttledMirror(opts.store, SNAPSHOT_EVERY_MS);
  // a replay's seek replaces the whole state: shown at once, not at the next snapshot
  const unsubscribeSeeks = opts.replay?.status.subscribe((s, prev) => {
    if (s.seeks !== prev.seeks) mirror.flush();
  });
  // Ctrl+C reaches App as a key (exitOnCtrlC: false): it becomes controls.emergencyStop('ctrl-c').
  const instance = render(
    <App store={mirror.store} controls={opts.controls ?? NO_RUN} onQuit={() => unmount()} frames={frames} replay={opts.replay} />,
    {
      // Ink 6.8.0's incremental renderer drifts a row per frame; the fix wraps the stream (ink#909)
      stdout: incremental ? withIncrementalFix(stdout) : stdout,
      stdin: opts.stdin ?? process.stdin,
      exitOnCtrlC: false,
      patchConsole: false,
      incrementalRendering: incremental,
      maxFps: MAX_FPS,
      // Ink calls onRender between computing a frame and recording it as its last output: tell App
      // once the call is over, so a write() then puts the new frame back, not the one before.
      onRender: () => {
        if (frameListeners.size === 0) return;
        queueMicrotask(() => {
          for (const listener of [...frameListeners]) listener();
        });
      },
    },
  );
  // Ink 6.8 settles only a waitUntilExit() promise that exists when it unmounts: asked for after an
  // early unmount (a closed terminal) it would never settle, and the run would end with the loop
  // drained (exit 0, ledger left open). So ask at once; and should Ink's unmount throw half-way, settle
  // anyway. The caller still sees a rejection.
  let torn: () => void = () => {};
  const exited = Promise.race([instance.waitUntilExit(), new Promise<void>((resolve) => (torn = resolve))]);
  exited.catch(() => {});
  function unmount(): void {
    if (unmounted) return;
    unmounted = true;
    mirror.dispose();
    unsubscribeSeeks?.();
    try {
      instance.unmount();
    } catch {
      // the terminal is gone; nothing left to draw on
      torn();
    }
  }
  return {
    waitUntilExit: async () => {
      await exited;
    },
    unmount,
  };
}
