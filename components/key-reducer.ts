// What a key does to the control room, as pure functions: (state, key, context) → { state, effects }.
// The binding comes from the key map (keymap.ts); this file says what each action does. App keeps the
// state (a ref, so every key of a burst sees the one before it, and React state to draw it) and
// performs the effects, the emergency stop first (keypress → fault out is a measured figure). In a
// replay the keys move through the journal; the live run's keys only say that a replay is read only.
import type { GamedayState } from '../src/state/store.ts';
import { ACCENT } from './colors.ts';
import { SEEK_STEP_MS } from '../src/state/replay-cursor.ts';
import { bindingFor, keyOf, type Action, type KeyFlags, type Mode, type RunState } from './keymap.ts';
import { shown } from './shown.ts';

export const NOTE_MAX_CHARS = 240;

export interface Notice {
  text: string;
  color?: string;
}

export interface KeyState {
  mode: Mode;
  /** the note being typed */
  note: string;
  help: boolean;
  notice: Notice | null;
  /** after Ctrl+C: leave as soon as the summary is on screen */
  leaveWhenDone: boolean;
  ctrlCSeen: boolean;
  /** onQuit has been asked for: it is asked once */
  left: boolean;
}

export const INITIAL_KEY_STATE: KeyState = {
  mode: 'keys',
  note: '',
  help: false,
  notice: null,
  leaveWhenDone: false,
  ctrlCSeen: false,
  left: false,
};

/** What the keys need to know of the run, read from the store afresh for every key. */
export interface KeyContext {
  /** the summary is in */
  finished: boolean;
  /** a fault is in, running or paused */
  faultActive: boolean;
  faultPaused: boolean;
  phase: GamedayState['phase'];
  /** a journal played back (gameday replay), not a run */
  replay?: boolean;
}

export function contextOf(s: Pick<GamedayState, 'summary' | 'faultActive' | 'faultPaused' | 'phase'>, replay = false): KeyContext {
  const ctx: KeyContext = {
    finished: s.summary !== null,
    faultActive: s.faultActive || s.faultPaused,
    faultPaused: s.faultPaused,
    phase: s.phase,
  };
  return replay ? { ...ctx, replay } : ctx;
}

export const READ_ONLY_NOTICE = 'replay: read only — nothing to stop, roll back, pause or note; the run is over';

export type KeyEffect =
  | { type: 'emergency-stop'; source: 'keyboard' | 'ctrl-c' | 'quit' }
  | { type: 'rollback-now' }
  | { type: 'toggle-pause' }
  | { type: 'add-note'; text: string }
  | { type: 'quit' }
  | { type: 'replay-pause' }
  | { type: 'seek'; deltaMs: number }
  | { type: 'speed'; faster: boolean };

export interface KeyResult {
  state: KeyState;
  effects: KeyEffect[];
}

export interface Press<K extends KeyFlags = KeyFlags> {
  input: string;
  key: K;
}

/** The Key a single character of a burst stands for. */
function keyFor<K extends KeyFlags>(ch: string, burst: K): K {
  return {
    ...burst,
    return: ch === '\r' || ch === '\n',
    backspace: ch === '\b',
    delete: ch === '\u007f',
    tab: ch === '\t',
    shift: /[A-Z]/.test(ch),
  };
}

/**
 * Several keys in one chunk (fast typing, a paste, tmux send-keys) are taken one character at a time,
 * so "n", text and Enter in one burst still make a note. A character is a code point: an emoji is one.
 */
export function pressesOf<K extends KeyFlags>(input: string, key: K): Press<K>[] {
  const chars = [...input];
  if (chars.length <= 1 || key.ctrl || key.meta || key.escape) return [{ input, key }];
  return chars.map((ch) =>
    ch === '\u0003' ? { input: 'c', key: { ...keyFor('c', key), ctrl: true } } : { input: ch, key: keyFor(ch, key) },
  );
}

const same = (state: KeyState): KeyResult => ({ state, effects: [] });
const to = (state: KeyState, ...effects: KeyEffect[]): KeyResult => ({ state, effects });
const leave = (s: KeyState): KeyResult => (s.left ? same(s) : to({ ...s, left: true }, { type: 'quit' }));

// C0, DEL and C1: a pasted escape sequence is not part of a note

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

type Reduce = (s: KeyState, ctx: KeyContext, input: string) => KeyResult;

const ACTIONS: Record<Action, Reduce> = {
  leave,
  stop: (s) =>
    to(
      { ...s, mode: 'keys', notice: { text: '■ EMERGENCY STOP — fault coming out, rolling back', color: 'red' } },
      { type: 'emergency-stop', source: 'keyboard' },
    ),
  'stop-and-leave': (s, ctx) => {
    if (ctx.finished || s.ctrlCSeen) return leave(s);
    const text = `■ EMERGENCY STOP (Ctrl+C) — rolling back, leaving when done · ${keyOf('stop-and-leave')} again leaves now`;
    return to(
      { ...s, ctrlCSeen: true, mode: 'keys', leaveWhenDone: true, notice: { text, color: 'red' } },
      { type: 'emergency-stop', source: 'ctrl-c' },
    );
  },
  rollback: (s, ctx) =>
    ctx.faultActive
      ? to({ ...s, notice: { text: '↺ rollback requested', color: 'magenta' } }, { type: 'rollback-now' })
      : same({ ...s, notice: { text: 'no active fault to roll back' } }),
  pause: (s, ctx) => {
    if (!ctx.faultActive) return same({ ...s, notice: { text: 'no active fault to pause' } });
    // the engine pauses only in the observe phase (not while injecting or rolling back)
    if (ctx.phase !== 'observe') return same({ ...s, notice: { text: 'the fault can be paused only while observing' } });
    const text = ctx.faultPaused ? '▶ resuming the fault' : '‖ pausing the fault';
    return to({ ...s, notice: { text, color: 'yellow' } }, { type: 'toggle-pause' });
  },
  note: (s) => same({ ...s, help: false, note: '', mode: 'note' }),
  help: (s) => same({ ...s, help: !s.help }),
  'close-help': (s) => same({ ...s, help: false }),
  quit: (s, ctx) => {
    if (ctx.faultActive || ctx.phase === 'inject' || ctx.phase === 'observe') return same({ ...s, mode: 'confirm-quit' });
    if (ctx.phase === 'rollback' || ctx.phase === 'verify' || ctx.phase === 'restore') {
      return same({ ...s, notice: { text: `rolling back — the summary follows (${keyOf('stop')} stops at once)`, color: 'magenta' } });
    }
    if (ctx.phase === 'done') return leave(s);
    return to(
      { ...s, notice: { text: 'stopping — nothing was injected; the summary follows', color: 'yellow' } },
      { type: 'emergency-stop', source: 'quit' },
    );
  },
  'quit-yes': (s) =>
    to(
      { ...s, mode: 'keys', notice: { text: 'quitting — rolling back; the summary follows', color: 'yellow' } },
      { type: 'emergency-stop', source: 'quit' },
    ),
  'quit-no': (s) => same({ ...s, mode: 'keys' }),
  'note-add': (s) => {
    const text = s.note.trim();
    const done: KeyState = { ...s, note: '', mode: 'keys' };
    if (!text) return same(done);
    return to({ ...done, notice: { text: `✎ note added: ${shown(text)}`, color: ACCENT.note } }, { type: 'add-note', text });
  },
  'note-cancel': (s) => same({ ...s, note: '', mode: 'keys' }),
  'note-erase': (s) => same({ ...s, note: [...s.note].slice(0, -1).join('') }),
  'note-type': (s, _, input) => {
    const clean = input.replace(CONTROL, '');
    return clean ? same({ ...s, note: [...(s.note + clean)].slice(0, NOTE_MAX_CHARS).join('') }) : same(s);
  },
  'replay-pause': (s) => to(s, { type: 'replay-pause' }),
  'seek-back': (s) => to(s, { type: 'seek', deltaMs: -SEEK_STEP_MS }),
  'seek-forward': (s) => to(s, { type: 'seek', deltaMs: SEEK_STEP_MS }),
  slower: (s) => to(s, { type: 'speed', faster: false }),
  faster: (s) => to(s, { type: 'speed', faster: true }),
  'read-only': (s) => same({ ...s, notice: { text: READ_ONLY_NOTICE, color: 'yellow' } }),
  'replay-leave': leave,
};

function runStateOf(ctx: KeyContext): RunState {
  if (ctx.replay) return 'replay';
  return ctx.finished ? 'finished' : 'live';
}

/** One key: find its binding in this mode and run state, and do its action. Unbound keys do nothing. */
export function reduceKey(state: KeyState, press: Press, ctx: KeyContext): KeyResult {
  const bound = bindingFor(press.input, press.key, state.mode, runStateOf(ctx));
  return bound ? ACTIONS[bound.action](state, ctx, press.input) : same(state);
}

/**
 * The summary is in. A quit question still open is dropped, so the summary's own keys are the ones
 * offered; after Ctrl+C, leave now.
 */
export function runFinished(state: KeyState): KeyResult {
  const s: KeyState = state.mode === 'confirm-quit' ? { ...state, mode: 'keys' } : state;
  return s.leaveWhenDone ? leave(s) : same(s);
}

/** A notice's time is up; a newer notice stays for its own time. */
export function noticeExpired(state: KeyState, notice: Notice): KeyResult {
  return same(state.notice === notice ? { ...state, notice: null } : state);
}
