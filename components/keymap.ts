// The control room's keys, in one table: which keys trigger an action, in which modes and run states
// they are bound, and how the help overlay and the key line describe them. The key reducer
// (key-reducer.ts) finds a key's binding here, and HelpOverlay and KeyHints draw from the same entries,
// so a key cannot be documented one way and handled another. Keys work only where raw mode is
// supported; otherwise the run goes headless and none of this is shown. A replay (gameday replay) has
// its own run state: its keys move through the journal, and the live run's keys act on nothing.
import type { Key } from 'ink';

/** What keys do now: act on the run, type a note, or answer the quit question. */
export type Mode = 'keys' | 'note' | 'confirm-quit';
/** live: the run is going; finished: its summary is on screen; replay: a journal played back */
export type RunState = 'live' | 'finished' | 'replay';

export type Action =
  | 'leave'
  | 'stop'
  | 'stop-and-leave'
  | 'rollback'
  | 'pause'
  | 'note'
  | 'help'
  | 'close-help'
  | 'quit'
  | 'quit-yes'
  | 'quit-no'
  | 'note-add'
  | 'note-cancel'
  | 'note-erase'
  | 'note-type'
  | 'replay-pause'
  | 'seek-back'
  | 'seek-forward'
  | 'slower'
  | 'faster'
  | 'read-only'
  | 'replay-leave';

/** The parts of Ink's Key the bindings look at. */
export type KeyFlags = Pick<Key, 'ctrl' | 'meta' | 'shift' | 'return' | 'escape' | 'tab' | 'backspace' | 'delete'> &
  Partial<Pick<Key, 'leftArrow' | 'rightArrow'>>;

interface NamedKey {
  label: string;
  matches: (input: string, key: KeyFlags) => boolean;
  /** named on the key line too (the others are in the help only) */
  inHints?: boolean;
}

const NAMED = {
  'ctrl+c': { label: 'Ctrl+C', matches: (input, key) => key.ctrl && input === 'c' },
  return: { label: 'Enter', matches: (_, key) => key.return },
  escape: { label: 'Esc', matches: (_, key) => key.escape },
  backspace: { label: 'Backspace', matches: (_, key) => key.backspace },
  delete: { label: 'Delete', matches: (_, key) => key.delete },
  left: { label: '←', matches: (_, key) => key.leftArrow === true },
  right: { label: '→', matches: (_, key) => key.rightArrow === true },
  space: { label: 'space', matches: (input, key) => input === ' ' && !key.ctrl && !key.meta, inHints: true },
  // typed text: anything no other note key takes, without Ctrl, Meta or Tab
  text: {
    label: 'text',
    matches: (input, key) =>
      input !== '' && !key.ctrl && !key.meta && !key.tab && !key.return && !key.escape && !key.backspace && !key.delete,
  },
} satisfies Record<string, NamedKey>;

/**
 * A key as the table names it: one character, matched exactly on the input whatever the modifiers
 * (as Ink reports Ctrl+X as input "x"), or one of the named keys above.
 */
export type KeyName = keyof typeof NAMED | (string & Record<never, never>);

export interface HintState {
  faultActive: boolean;
  faultPaused: boolean;
  replayPaused?: boolean;
}

export interface Binding {
  action: Action;
  keys: readonly KeyName[];
  when: { modes: readonly Mode[]; runs: readonly RunState[] };
  /** the help overlay's line; entries with the same text share one line */
  help?: string;
  /** the key line: its label, a shorter one beside a notice, and whether the key would act now */
  hint?: { label: string | ((s: HintState) => string); short?: string; active?: (s: HintState) => boolean };
  /** drawn as the danger key: the emergency stop */
  danger?: boolean;
}

const ALL_MODES: readonly Mode[] = ['keys', 'note', 'confirm-quit'];
const EITHER_RUN: readonly RunState[] = ['live', 'finished'];
/** the runs of a live `gameday run` (the help overlay of a run lists these) */
export const LIVE_RUNS: readonly RunState[] = EITHER_RUN;
const REPLAY = { modes: ['keys'], runs: ['replay'] } as const;
const KEYS_LIVE = { modes: ['keys'], runs: ['live'] } as const;
const ASKING = { modes: ['confirm-quit'], runs: ['live'] } as const;
const SUMMARY = { modes: ['keys', 'confirm-quit'], runs: ['finished'] } as const;
const TYPING = { modes: ['note'], runs: EITHER_RUN } as const;
const HELP_TOGGLE = 'show / hide this help';
const SEEK = 'seek 5 s back / forward in the journal (back rebuilds the screen from the start)';
const SPEED = 'slower / faster: 0.25× to 64×, doubling';

/**
 * First match wins, though no key as Ink reports it has two entries in one mode and run state (a test
 * checks). The key line and the help overlay list entries in this order.
 */
export const KEYMAP: readonly Binding[] = [
  // once the summary is on screen; a quit question still open then is dropped (runFinished)
  { action: 'leave', keys: ['q', 'Q', 'return', 'escape'], when: SUMMARY, hint: { label: 'quit' } },
  // at once, no confirmation: in every mode but typing a note, even while the quit question is asked
  {
    action: 'stop',
    keys: ['x', 'X', '!'],
    when: { modes: ['keys', 'confirm-quit'], runs: ['live'] },
    help: 'EMERGENCY STOP — no confirmation: the fault comes out and rollback starts now',
    hint: { label: 'EMERGENCY STOP', short: 'stop' },
    danger: true,
  },
  // everywhere, a note too: stop and leave once the summary is in; a second Ctrl+C leaves at once
  // (the run command still waits for the rollback it started)
  {
    action: 'stop-and-leave',
    keys: ['ctrl+c'],
    when: { modes: ALL_MODES, runs: EITHER_RUN },
    help: 'emergency stop, then leave once rolled back (press twice to leave at once)',
  },
  // acts only while a fault is active
  {
    action: 'rollback',
    keys: ['r', 'R'],
    when: KEYS_LIVE,
    help: 'roll back now: end the fault early, verify recovery',
    hint: { label: 'roll back', active: (s) => s.faultActive },
  },
  // acts only while observing: the engine does not pause while injecting or rolling back
  {
    action: 'pause',
    keys: ['p', 'P'],
    when: KEYS_LIVE,
    help: 'pause / resume the fault (traffic and the SLO watch go on)',
    hint: { label: (s) => (s.faultPaused ? 'resume' : 'pause'), active: (s) => s.faultActive },
  },
  {
    action: 'note',
    keys: ['n', 'N'],
    when: KEYS_LIVE,
    help: 'write a note into the timeline (Enter adds it, Esc cancels)',
    hint: { label: 'note' },
  },
  // a replay: its own keys move through the journal
  {
    action: 'replay-pause',
    keys: ['space'],
    when: REPLAY,
    help: 'pause / resume the replay',
    hint: { label: (s) => (s.replayPaused ? 'resume' : 'pause') },
  },
  { action: 'seek-back', keys: ['left'], when: REPLAY, help: SEEK, hint: { label: '-5s' } },
  { action: 'seek-forward', keys: ['right'], when: REPLAY, help: SEEK, hint: { label: '+5s' } },
  { action: 'slower', keys: ['-'], when: REPLAY, help: SPEED, hint: { label: 'slower' } },
  { action: 'faster', keys: ['+', '='], when: REPLAY, help: SPEED, hint: { label: 'faster' } },
  // the live run's keys: a replay never stops, rolls back, pauses a fault or writes a note
  {
    action: 'read-only',
    keys: ['x', 'X', '!', 'r', 'R', 'p', 'P', 'n', 'N'],
    when: REPLAY,
    help: 'nothing: a replay is read only (no stop, rollback, fault pause or note)',
  },
  // keys keep working under the overlay
  {
    action: 'help',
    keys: ['?'],
    when: { modes: ['keys', 'confirm-quit'], runs: [...EITHER_RUN, 'replay'] },
    help: HELP_TOGGLE,
    hint: { label: 'help' },
  },
  { action: 'close-help', keys: ['escape'], when: { modes: ['keys'], runs: ['live', 'replay'] }, help: HELP_TOGGLE },
  { action: 'replay-leave', keys: ['q', 'Q', 'ctrl+c'], when: REPLAY, help: 'leave the replay (exit 0)', hint: { label: 'quit' } },
  // asks while a fault is active or being injected; stops at once with nothing injected yet; during
  // rollback and verify only says the summary follows
  {
    action: 'quit',
    keys: ['q', 'Q'],
    when: KEYS_LIVE,
    help: 'quit — asks first while a fault is active; quitting rolls back',
    hint: { label: 'quit' },
  },
  { action: 'quit-yes', keys: ['y', 'Y'], when: ASKING },
  { action: 'quit-no', keys: ['n', 'N', 'escape'], when: ASKING },
  // while typing a note, x, q and the other letters are plain text
  { action: 'note-add', keys: ['return'], when: TYPING, hint: { label: 'adds' } },
  { action: 'note-cancel', keys: ['escape'], when: TYPING, hint: { label: 'cancels' } },
  { action: 'note-erase', keys: ['backspace', 'delete'], when: TYPING },
  { action: 'note-type', keys: ['text'], when: TYPING },
];

export function isNamedKey(name: KeyName): name is keyof typeof NAMED {
  return Object.hasOwn(NAMED, name);
}

export function keyMatches(name: KeyName, input: string, key: KeyFlags): boolean {
  return isNamedKey(name) ? NAMED[name].matches(input, key) : input === name;
}

/** The binding a key has in this mode and run state, if any. */
export function bindingFor(input: string, key: KeyFlags, mode: Mode, run: RunState, map: readonly Binding[] = KEYMAP): Binding | undefined {
  return map.find((b) => b.when.modes.includes(mode) && b.when.runs.includes(run) && b.keys.some((name) => keyMatches(name, input, key)));
}

export function binding(action: Action): Binding {
  const found = KEYMAP.find((b) => b.action === action);
  if (!found) throw new Error(`no binding for ${action}`);
  return found;
}

/** How a key is written for people: "Esc", "Ctrl+C"; an upper-case letter whose lower case is bound too is left out. */
export function keyLabels(b: Binding): string[] {
  return b.keys
    .filter((name) => name.length !== 1 || name === name.toLowerCase() || !b.keys.includes(name.toLowerCase()))
    .map((name) => (isNamedKey(name) ? NAMED[name].label : name));
}

/** The keys the key line names: the characters (and space) only (Enter, Esc and the others are in the help). */
export function hintKeys(b: Binding): string {
  const hinted = new Set(
    Object.values(NAMED)
      .filter((k: NamedKey) => k.inHints)
      .map((k) => k.label),
  );
  return keyLabels(b)
    .filter((label) => label.length === 1 || hinted.has(label))
    .join('/');
}

/** The main key of an action, for a sentence: "x stops at once". */
export function keyOf(action: Action): string {
  return keyLabels(binding(action))[0];
}

export interface HelpRow {
  keys: string[];
  text: string;
  danger: boolean;
}

/** The help overlay's lines: one per help text, with the keys of every entry that has it, for a live run or a replay. */
export function helpRows(map: readonly Binding[] = KEYMAP, runs: readonly RunState[] = LIVE_RUNS): HelpRow[] {
  const rows: HelpRow[] = [];
  for (const b of map) {
    if (!b.help || !b.when.runs.some((r) => runs.includes(r))) continue;
    const row = rows.find((r) => r.text === b.help);
    if (row) row.keys.push(...keyLabels(b).filter((k) => !row.keys.includes(k)));
    else rows.push({ keys: keyLabels(b), text: b.help, danger: b.danger ?? false });
  }
  return rows;
}

/** The entries the key line offers in a run state, in table order. */
export function hintBindings(run: RunState, map: readonly Binding[] = KEYMAP): Binding[] {
  return map.filter((b) => b.hint && b.when.modes.includes('keys') && b.when.runs.includes(run));
}

export function hintLabel(b: Binding, s: HintState = { faultActive: false, faultPaused: false }): string {
  const label = b.hint?.label ?? '';
  return typeof label === 'function' ? label(s) : label;
}

/** "Enter adds · Esc cancels": the note line's keys, from the note entries. */
export function noteHint(): string {
  return (['note-add', 'note-cancel'] as const).map((a) => `${keyOf(a)} ${hintLabel(binding(a))}`).join(' · ');
}

export const QUIT_QUESTION = `Fault active — quit and roll back? (${keyOf('quit-yes')}/${keyOf('quit-no')})`;
