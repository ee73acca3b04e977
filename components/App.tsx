// The control room: header, budget, SLOs, impact, preflight, timeline and the key line, then the
// summary after the run. It reads the store through selectors and acts only through RunControls.
//
// Keys (only where raw mode is supported; otherwise the run goes headless and this is not shown):
//   x, X, !  EMERGENCY STOP at once, no confirmation — in every mode except typing a note, and even
//            while the quit question is asked.
//   Ctrl+C   emergency stop, then leave as soon as the summary is in (the summary is the last frame).
//            A second Ctrl+C leaves at once; the run command still waits for the rollback it started.
//            Works in every mode, including while typing a note.
//   r        roll back now (only while a fault is active).   p  pause / resume the fault (only while
//            observing: the engine does not pause while injecting or rolling back).
//   n        type a note: keystrokes go to the note, Enter adds it (controls.addNote), Esc cancels;
//            x and q are plain letters there.
//   ?        help overlay (? or Esc closes it; keys keep working under it).
//   q        quit. While a fault is active (or being injected) it asks "Fault active — quit and roll
//            back? (y/n)"; y calls controls.emergencyStop('quit'), which rolls back like any stop
//            (exit code 5), and the summary then shows. With nothing injected yet q stops the run the
//            same way without asking; during rollback/verify it only says the summary follows (x still
//            stops at once). Once the summary is on screen, q (or Enter, Esc) calls onQuit; a quit
//            question still open when the run ends on its own is dropped.
import { useCallback, useEffect, useRef, useState } from 'react';
import { Box, Text, useInput, useStdin, useStdout, type Key } from 'ink';
import { useStore } from 'zustand';
import { useShallow } from 'zustand/react/shallow';
import type { GamedayStore, RunControls } from '../src/state/store.ts';
import { BudgetPane } from './BudgetPane.tsx';
import { ACCENT, tone } from './colors.ts';
import { Header } from './Header.tsx';
import { HelpOverlay } from './HelpOverlay.tsx';
import { ImpactPane } from './ImpactPane.tsx';
import { KeyHints } from './KeyHints.tsx';
import { computeLayout, useTerminalSize, type View } from './layout.ts';
import { NoteInput } from './NoteInput.tsx';
import { shown } from './shown.ts';
import { PreflightPane } from './PreflightPane.tsx';
import { SloPane } from './SloPane.tsx';
import { SummaryScreen } from './SummaryScreen.tsx';
import { TimelinePane } from './TimelinePane.tsx';

export interface AppProps {
  store: GamedayStore;
  controls: RunControls;
  /** the user is done: quit after the summary, or Ctrl+C */
  onQuit: () => void;
  /** tells when Ink has taken in a new frame (render-control-room wires Ink's onRender to it) */
  frames?: FrameSignal;
}

export interface FrameSignal {
  subscribe(listener: () => void): () => void;
}

type Mode = 'keys' | 'note' | 'confirm-quit';
interface Notice {
  text: string;
  color?: string;
}

const NOTICE_MS = 4000;
/** without a frame signal: longer than one frame at render-control-room's frame rate */
const RESIZE_SETTLE_MS = 150;
/** with one: in case no frame follows (nothing changes on screen) */
const RESIZE_FALLBACK_MS = 1000;

export const NOTE_MAX_CHARS = 240;
export const QUIT_QUESTION = 'Fault active — quit and roll back? (y/n)';

/** The Key a single character of a burst stands for. */
function keyFor(ch: string, burst: Key): Key {
  return {
    ...burst,
    return: ch === '\r' || ch === '\n',
    backspace: ch === '\b',
    delete: ch === '\u007f',
    tab: ch === '\t',
    shift: /[A-Z]/.test(ch),
  };
}

export function App({ store, controls, onQuit, frames }: AppProps) {
  const { isRawModeSupported } = useStdin();
  const { write } = useStdout();
  const size = useTerminalSize();

  // A resized terminal re-wraps the old frame where Ink cannot reach it. Once Ink has rendered the
  // frame for the new size (its renders are throttled), clear the screen: Ink's write() erases, writes
  // this, and puts the live region back from the top, so no half-frames are left behind.
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
    })),
  );

  // Mode and note live in refs as well as state: keys that arrive in one burst (a paste, fast typing)
  // must each see the previous key's effect before React re-renders.
  const modeRef = useRef<Mode>('keys');
  const noteRef = useRef('');
  const [mode, setModeState] = useState<Mode>('keys');
  const [note, setNoteState] = useState('');
  const [help, setHelp] = useState(false);
  const [notice, setNotice] = useState<Notice | null>(null);
  const [leaveWhenDone, setLeaveWhenDone] = useState(false);
  const ctrlCRef = useRef(false);
  const quitRef = useRef(false);

  const setMode = useCallback((next: Mode) => {
    modeRef.current = next;
    setModeState(next);
  }, []);
  const setNote = useCallback((next: string) => {
    noteRef.current = next;
    setNoteState(next);
  }, []);
  const quit = useCallback(() => {
    if (quitRef.current) return;
    quitRef.current = true;
    onQuit();
  }, [onQuit]);

  useEffect(() => {
    if (!notice) return;
    const timer = setTimeout(() => setNotice(null), NOTICE_MS);
    return () => clearTimeout(timer);
  }, [notice]);

  // The run can end on its own while the quit question is open: drop the question, so the summary's
  // own keys (q, Enter, Esc) are the ones offered.
  useEffect(() => {
    if (run.finished && modeRef.current === 'confirm-quit') setMode('keys');
  }, [run.finished, setMode]);

  // after Ctrl+C: leave as soon as the summary is on screen
  useEffect(() => {
    if (leaveWhenDone && run.finished) quit();
  }, [leaveWhenDone, run.finished, quit]);

  const emergencyStop = (source: string) => {
    controls.emergencyStop(source);
    setMode('keys');
    setNotice({ text: '■ EMERGENCY STOP — fault coming out, rolling back', color: 'red' });
  };

  const handleInput = (input: string, key: Key) => {
    // the freshest state, not the last render's: a key may arrive between a tick and its frame
    const now = store.getState();
    const finished = now.summary !== null;
    const faultActive = now.faultActive || now.faultPaused;
    const phase = now.phase;

    // Several keys in one chunk (fast typing, a paste, tmux send-keys): one at a time, so "n", text
    // and Enter in one burst still make a note. A character is a code point: an emoji (two UTF-16
    // units) is one key, not a burst of itself.
    if ([...input].length > 1 && !key.ctrl && !key.meta && !key.escape) {
      for (const ch of input) {
        if (ch === '\u0003') handleInput('c', { ...keyFor('c', key), ctrl: true });
        else handleInput(ch, keyFor(ch, key));
      }
      return;
    }

    if (key.ctrl && input === 'c') {
      if (finished || ctrlCRef.current) {
        quit();
        return;
      }
      ctrlCRef.current = true;
      controls.emergencyStop('ctrl-c');
      setMode('keys');
      setLeaveWhenDone(true);
      setNotice({ text: '■ EMERGENCY STOP (Ctrl+C) — rolling back, leaving when done · Ctrl+C again leaves now', color: 'red' });
      return;
    }

    if (modeRef.current === 'note') {
      if (key.return) {
        const text = noteRef.current.trim();
        if (text) {
          controls.addNote(text);
          setNotice({ text: `✎ note added: ${shown(text)}`, color: ACCENT.note });
        }
        setNote('');
        setMode('keys');
      } else if (key.escape) {
        setNote('');
        setMode('keys');
      } else if (key.backspace || key.delete) {
        setNote([...noteRef.current].slice(0, -1).join(''));
      } else if (!key.ctrl && !key.meta && !key.tab && input) {
        // C0, DEL and C1: a pasted escape sequence is not part of a note
        const clean = input.replace(/[\u0000-\u001f\u007f-\u009f]/g, '');
        if (clean) setNote([...(noteRef.current + clean)].slice(0, NOTE_MAX_CHARS).join(''));
      }
      return;
    }

    if (input === '?') {
      setHelp((h) => !h);
      return;
    }

    if (finished) {
      if (input === 'q' || input === 'Q' || key.return || key.escape) quit();
      return;
    }

    if (input === 'x' || input === 'X' || input === '!') {
      emergencyStop('keyboard');
      return;
    }

    if (modeRef.current === 'confirm-quit') {
      if (input === 'y' || input === 'Y') {
        controls.emergencyStop('quit');
        setMode('keys');
        setNotice({ text: 'quitting — rolling back; the summary follows', color: 'yellow' });
      } else if (input === 'n' || input === 'N' || key.escape) {
        setMode('keys');
      }
      return;
    }

    if (key.escape) {
      setHelp(false);
      return;
    }

    switch (input) {
      case 'r':
      case 'R':
        if (faultActive) {
          controls.rollbackNow();
          setNotice({ text: '↺ rollback requested', color: 'magenta' });
        } else {
          setNotice({ text: 'no active fault to roll back' });
        }
        return;
      case 'p':
      case 'P':
        if (faultActive && phase === 'observe') {
          const paused = now.faultPaused;
          controls.togglePause();
          setNotice({ text: paused ? '▶ resuming the fault' : '‖ pausing the fault', color: 'yellow' });
        } else if (faultActive) {
          // the engine pauses only in the observe phase (not while injecting or rolling back)
          setNotice({ text: 'the fault can be paused only while observing' });
        } else {
          setNotice({ text: 'no active fault to pause' });
        }
        return;
      case 'n':
      case 'N':
        setHelp(false);
        setNote('');
        setMode('note');
        return;
      case 'q':
      case 'Q':
        if (faultActive || phase === 'inject' || phase === 'observe') {
          setMode('confirm-quit');
        } else if (phase === 'rollback' || phase === 'verify') {
          setNotice({ text: 'rolling back — the summary follows (x stops at once)', color: 'magenta' });
        } else if (phase === 'done') {
          quit();
        } else {
          controls.emergencyStop('quit');
          setNotice({ text: 'stopping — nothing was injected; the summary follows', color: 'yellow' });
        }
        return;
    }
  };

  useInput(handleInput, { isActive: isRawModeSupported });

  const view: View = help ? 'help' : run.finished ? 'summary' : 'run';
  const showPreflight = view === 'run' && (run.phase === 'preflight' || run.phase === 'baseline' || run.preflightFailed);
  const layout = computeLayout({
    ...size,
    view,
    preflightChecks: showPreflight ? Math.max(1, run.preflightCount) : 0,
    preflightPhase: run.phase === 'preflight',
  });
  const { width, bordered } = layout;

  let body;
  if (view === 'help') {
    body = <HelpOverlay width={width} bordered={bordered} />;
  } else if (view === 'summary') {
    body = (
      <>
        <SummaryScreen store={store} width={width} bordered={bordered} />
        {layout.timelineEntries > 0 ? (
          <TimelinePane store={store} width={width} bordered={bordered} maxEntries={layout.timelineEntries} />
        ) : null}
      </>
    );
  } else {
    body = (
      <>
        {layout.twoColumns ? (
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
        ) : layout.mainPanes === 'budget' ? (
          <BudgetPane store={store} width={width} bordered={bordered} />
        ) : (
          <>
            <BudgetPane store={store} width={width} bordered={bordered} />
            <SloPane store={store} width={width} bordered={bordered} />
            <ImpactPane store={store} width={width} bordered={bordered} />
          </>
        )}
        {layout.preflightLines > 0 ? (
          <PreflightPane store={store} width={width} bordered={bordered} maxLines={layout.preflightLines} />
        ) : null}
        {layout.timelineEntries > 0 ? (
          <TimelinePane store={store} width={width} bordered={bordered} maxEntries={layout.timelineEntries} />
        ) : null}
      </>
    );
  }

  let footer;
  if (!isRawModeSupported) {
    footer = <KeyHints faultActive={run.faultActive} faultPaused={run.faultPaused} finished={run.finished} inputless />;
  } else if (mode === 'note') {
    footer = <NoteInput value={note} width={width} />;
  } else if (mode === 'confirm-quit' && !run.finished) {
    footer = (
      <Text wrap="truncate-end">
        <Text bold inverse color={tone('yellow')}>{` ${QUIT_QUESTION} `}</Text>
        <Text dimColor>  x stops at once</Text>
      </Text>
    );
  } else if (notice) {
    footer = (
      <Text wrap="truncate-end">
        <Text bold color={tone(notice.color)}>{notice.text}</Text>
        {run.finished ? <Text dimColor>  · q quit</Text> : <Text dimColor>  · x/! stop · ? help</Text>}
      </Text>
    );
  } else {
    footer = (
      <KeyHints faultActive={run.faultActive} faultPaused={run.faultPaused} finished={run.finished} exitCode={run.exitCode} />
    );
  }

  return (
    <Box flexDirection="column" width={width}>
      <Header store={store} width={width} />
      <Box
        flexDirection="column"
        width={width}
        height={layout.clipped ? layout.bodyHeight : undefined}
        overflow={layout.clipped ? 'hidden' : undefined}
      >
        {body}
      </Box>
      {footer}
    </Box>
  );
}
