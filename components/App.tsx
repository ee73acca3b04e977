// The control room: header, budget, SLOs, impact, preflight, timeline and the key line, then the
// summary after the run. It reads the store through selectors and acts only through RunControls.
// Keys: the key map (keymap.ts) says which key does what and when; the key reducer (key-reducer.ts)
// does it; useKeys holds the reducer's state here and performs its effects. A replay (gameday replay)
// is the same screen fed from a journal: its header says so, and its keys move through the journal.
import { useEffect, useRef } from 'react';
import { Box, useInput, useStdin, useStdout } from 'ink';
import { useStore } from 'zustand';
import { useShallow } from 'zustand/react/shallow';
import type { ReplaySource } from '../src/state/replay-player.ts';
import type { GamedayStore, RunControls } from '../src/state/store.ts';
import { BudgetPane } from './BudgetPane.tsx';
import { Header } from './Header.tsx';
import { HelpOverlay } from './HelpOverlay.tsx';
import { ImpactPane } from './ImpactPane.tsx';
import { KeyLine } from './KeyHints.tsx';
import { computeLayout, useTerminalSize, type Layout, type TerminalSize, type View } from './layout.ts';
import { PreflightPane } from './PreflightPane.tsx';
import { useReplayStatus } from './replay-badge.ts';
import { SloPane } from './SloPane.tsx';
import { SummaryScreen } from './SummaryScreen.tsx';
import { TimelinePane } from './TimelinePane.tsx';
import { useKeys } from './use-keys.ts';

export interface AppProps {
  store: GamedayStore;
  controls: RunControls;
  /** the user is done: quit after the summary, or Ctrl+C */
  onQuit: () => void;
  /** tells when Ink has taken in a new frame (render-control-room wires Ink's onRender to it) */
  frames?: FrameSignal;
  /** a journal played back instead of a live run */
  replay?: ReplaySource;
}

export interface FrameSignal {
  subscribe(listener: () => void): () => void;
}

/** without a frame signal: longer than one frame at render-control-room's frame rate */
const RESIZE_SETTLE_MS = 150;
/** with one: in case no frame follows (nothing changes on screen) */
const RESIZE_FALLBACK_MS = 1000;

// A resized terminal re-wraps the old frame where Ink cannot reach it. Once Ink has rendered the
// frame for the new size (its renders are throttled), clear the screen: Ink's write() erases, writes
// this, and puts the live region back from the top, so no half-frames are left behind.
function useClearOnResize(size: TerminalSize, frames: FrameSignal | undefined) {
  const { write } = useStdout();
  const lastSize = useRef(size);
  useEffect(() => {
    if (lastSize.current.columns === size.columns && lastSize.current.rows === size.rows) return;
    lastSize.current = size;
    let done = false;
    const clear = () => {
      if (done) return;
      done = true;
      write('\u001b[2J\u001b[H');
    };
    const unsubscribe = frames?.subscribe(clear);
    const timer = setTimeout(clear, frames ? RESIZE_FALLBACK_MS : RESIZE_SETTLE_MS);
    return () => {
      done = true;
      unsubscribe?.();
      clearTimeout(timer);
    };
  }, [size, write, frames]);
}

export function App({ store, controls, onQuit, frames, replay }: AppProps) {
  const { isRawModeSupported } = useStdin();
  const size = useTerminalSize();
  useClearOnResize(size, frames);

  const run = useStore(
    store,
    useShallow((s) => ({
      phase: s.phase,
      faultActive: s.faultActive,
      faultPaused: s.faultPaused,
      finished: s.summary !== null,
      exitCode: s.summary?.exitCode,
      preflightCount: s.preflight.length,
      preflightFailed: s.preflight.some((c) => c.status === 'fail'),
      guards: s.guards.length,
    })),
  );
  const replayPaused = useReplayStatus(replay?.status)?.paused ?? false;
  const keys = useKeys({ store, controls, onQuit, finished: run.finished, replay });
  useInput(keys.onInput, { isActive: isRawModeSupported });

  const view: View = keys.state.help ? 'help' : run.finished ? 'summary' : 'run';
  const showPreflight = view === 'run' && (run.phase === 'preflight' || run.phase === 'baseline' || run.preflightFailed);
  const layout = computeLayout({
    ...size,
    view,
    preflightChecks: showPreflight ? Math.max(1, run.preflightCount) : 0,
    preflightPhase: run.phase === 'preflight',
    guards: run.guards,
  });
  const { width } = layout;

  return (
    <Box flexDirection="column" width={width}>
      <Header store={store} width={width} replay={replay?.status} />
      <Box
        flexDirection="column"
        width={width}
        height={layout.clipped ? layout.bodyHeight : undefined}
        overflow={layout.clipped ? 'hidden' : undefined}
      >
        <Body store={store} view={view} layout={layout} replay={replay !== undefined} />
      </Box>
      <KeyLine
        keys={keys.state}
        width={width}
        inputless={!isRawModeSupported}
        faultActive={run.faultActive}
        faultPaused={run.faultPaused}
        finished={run.finished}
        exitCode={run.exitCode}
        replay={replay ? { paused: replayPaused } : undefined}
      />
    </Box>
  );
}

/** The panes under the header: the help overlay, the summary, or the run's panes. */
function Body({ store, view, layout, replay }: { store: GamedayStore; view: View; layout: Layout; replay: boolean }) {
  const { width, bordered } = layout;
  const timeline =
    layout.timelineEntries > 0 ? (
      <TimelinePane store={store} width={width} bordered={bordered} maxEntries={layout.timelineEntries} />
    ) : null;
  if (view === 'help') return <HelpOverlay width={width} bordered={bordered} replay={replay} />;
  if (view === 'summary') {
    return (
      <>
        <SummaryScreen store={store} width={width} bordered={bordered} />
        {timeline}
      </>
    );
  }
  return (
    <>
      <MainPanes store={store} layout={layout} />
      {layout.preflightLines > 0 ? (
        <PreflightPane store={store} width={width} bordered={bordered} maxLines={layout.preflightLines} />
      ) : null}
      {timeline}
    </>
  );
}

/** Budget, SLOs and impact: in two columns, stacked, or the budget alone when rows are short. */
function MainPanes({ store, layout }: { store: GamedayStore; layout: Layout }) {
  const { width, bordered } = layout;
  if (layout.twoColumns) {
    return (
      <Box width={width}>
        <Box flexDirection="column" width={layout.leftWidth}>
          <BudgetPane store={store} width={layout.leftWidth} bordered={bordered} />
          <ImpactPane store={store} width={layout.leftWidth} bordered={bordered} />
        </Box>
        {layout.gap > 0 ? <Box width={layout.gap} /> : null}
        <Box flexDirection="column" width={layout.rightWidth}>
          <SloPane store={store} width={layout.rightWidth} bordered={bordered} flexGrow={1} roomy={bordered} />
        </Box>
      </Box>
    );
  }
  if (layout.mainPanes === 'budget') return <BudgetPane store={store} width={width} bordered={bordered} />;
  return (
    <>
      <BudgetPane store={store} width={width} bordered={bordered} />
      <SloPane store={store} width={width} bordered={bordered} />
      <ImpactPane store={store} width={width} bordered={bordered} />
    </>
  );
}
