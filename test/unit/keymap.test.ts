// The key map: which key does what in each mode and run state, written out here by hand as the spec,
// and the table's own sanity (one binding per key, every action bound, the README's keys bound).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  KEYMAP,
  QUIT_QUESTION,
  binding,
  bindingFor,
  helpRows,
  hintBindings,
  hintKeys,
  hintLabel,
  isNamedKey,
  keyLabels,
  keyMatches,
  noteHint,
  type Action,
  type Mode,
  type RunState,
} from '../../components/keymap.ts';
import { pressesOf, type Press } from '../../components/key-reducer.ts';
import { KEY, ch, flags } from './key-presses.ts';

/** Keys by the names the spec below uses. */
const PRESS: Record<string, Press> = {
  enter: KEY.enter,
  esc: KEY.esc,
  backspace: KEY.backspace,
  delete: KEY.delete,
  tab: KEY.tab,
  'ctrl+c': KEY.ctrlC,
  'ctrl+a': KEY.ctrlA,
  up: KEY.up,
  left: KEY.left,
  right: KEY.right,
  space: ch(' '),
};
const press = (name: string): Press => PRESS[name] ?? ch(name);

const ALL_KEYS = 'x X ! ctrl+c r R p P n N ? esc q Q y Y enter backspace delete a 7 tab ctrl+a up left right space + = -'.split(' ');
const TYPED = 'x X ! r R p P n N ? q Q y Y a 7'.split(' ');
const SUMMARY: Record<string, Action> = { 'ctrl+c': 'stop-and-leave', '?': 'help', q: 'leave', Q: 'leave', enter: 'leave', esc: 'leave' };
const NOTE: Record<string, Action> = {
  'ctrl+c': 'stop-and-leave',
  enter: 'note-add',
  esc: 'note-cancel',
  backspace: 'note-erase',
  delete: 'note-erase',
  ...Object.fromEntries([...TYPED, 'space', '+', '=', '-'].map((k) => [k, 'note-type' as const])),
};

/** The spec: every key in every mode and run state; a key not listed does nothing. */
const SPEC: Record<`${Mode}/${RunState}`, Record<string, Action>> = {
  'keys/live': {
    x: 'stop',
    X: 'stop',
    '!': 'stop',
    'ctrl+c': 'stop-and-leave',
    r: 'rollback',
    R: 'rollback',
    p: 'pause',
    P: 'pause',
    n: 'note',
    N: 'note',
    '?': 'help',
    esc: 'close-help',
    q: 'quit',
    Q: 'quit',
  },
  'confirm-quit/live': {
    x: 'stop',
    X: 'stop',
    '!': 'stop',
    'ctrl+c': 'stop-and-leave',
    '?': 'help',
    y: 'quit-yes',
    Y: 'quit-yes',
    n: 'quit-no',
    N: 'quit-no',
    esc: 'quit-no',
  },
  'note/live': NOTE,
  'keys/finished': SUMMARY,
  'confirm-quit/finished': SUMMARY,
  'note/finished': NOTE,
  // a replay: its own keys; the live run's keys only say it is read only; no note, no quit question
  'keys/replay': {
    space: 'replay-pause',
    left: 'seek-back',
    right: 'seek-forward',
    '-': 'slower',
    '+': 'faster',
    '=': 'faster',
    ...Object.fromEntries('x X ! r R p P n N'.split(' ').map((k) => [k, 'read-only' as const])),
    '?': 'help',
    esc: 'close-help',
    q: 'replay-leave',
    Q: 'replay-leave',
    'ctrl+c': 'replay-leave',
  },
  'confirm-quit/replay': { '?': 'help' },
  'note/replay': {},
};

describe('the key map', () => {
  for (const [where, bound] of Object.entries(SPEC)) {
    const [mode, run] = where.split('/') as [Mode, RunState];
    it(`binds every key as the spec says: ${where}`, () => {
      const got = Object.fromEntries(ALL_KEYS.map((k) => [k, bindingFor(press(k).input, press(k).key, mode, run)?.action ?? null]));
      const want = Object.fromEntries(ALL_KEYS.map((k) => [k, bound[k] ?? null]));
      expect(got).toEqual(want);
    });
  }

  it('binds every action exactly once', () => {
    const all: Record<Action, true> = {
      leave: true,
      stop: true,
      'stop-and-leave': true,
      rollback: true,
      pause: true,
      note: true,
      help: true,
      'close-help': true,
      quit: true,
      'quit-yes': true,
      'quit-no': true,
      'note-add': true,
      'note-cancel': true,
      'note-erase': true,
      'note-type': true,
      'replay-pause': true,
      'seek-back': true,
      'seek-forward': true,
      slower: true,
      faster: true,
      'read-only': true,
      'replay-leave': true,
    };
    expect(KEYMAP.map((b) => b.action).sort()).toEqual(Object.keys(all).sort());
  });

  it('names keys as one character or a known named key', () => {
    for (const b of KEYMAP) for (const name of b.keys) expect(name.length === 1 || isNamedKey(name), `${b.action}: ${name}`).toBe(true);
  });

  it('gives no key two bindings in one mode and run state, bursts and every printable character included', () => {
    const presses: Press[] = [
      ...Object.values(PRESS),
      { input: '', key: flags({ leftArrow: true, shift: true }) },
      ...Array.from({ length: 0x7f - 0x20 }, (_, i) => press(String.fromCharCode(0x20 + i))),
      ...pressesOf('\r\n\b\u007f\t\u0003\u001b\u{1F525}é', flags()),
      ...'abcdefghijklmnopqrstuvwxyz'.split('').map((c) => ({ input: c, key: flags({ ctrl: true }) })),
      ...'xqnry'.split('').map((c) => ({ input: c, key: flags({ meta: true }) })),
    ];
    for (const where of Object.keys(SPEC)) {
      const [mode, run] = where.split('/') as [Mode, RunState];
      for (const p of presses) {
        const matching = KEYMAP.filter(
          (b) => b.when.modes.includes(mode) && b.when.runs.includes(run) && b.keys.some((name) => keyMatches(name, p.input, p.key)),
        );
        expect(matching.length, `${where} ${JSON.stringify(p)}: ${matching.map((b) => b.action).join(', ')}`).toBeLessThanOrEqual(1);
      }
    }
  });
});

describe('how keys are written', () => {
  it('an upper-case letter bound with its lower case is left out; named keys by their names', () => {
    const labels = (action: Action) => keyLabels(KEYMAP.find((b) => b.action === action)!);
    expect(labels('stop')).toEqual(['x', '!']);
    expect(labels('leave')).toEqual(['q', 'Enter', 'Esc']);
    expect(labels('stop-and-leave')).toEqual(['Ctrl+C']);
    expect(labels('note-erase')).toEqual(['Backspace', 'Delete']);
    expect(labels('quit-no')).toEqual(['n', 'Esc']);
  });
  it('an entry without a hint has no label; an unknown action has no binding', () => {
    expect(hintLabel(binding('note-erase'))).toBe('');
    expect(() => binding('nope' as Action)).toThrow('no binding for nope');
  });
  it('the key line names the characters only', () => {
    expect(hintKeys(KEYMAP.find((b) => b.action === 'stop')!)).toBe('x/!');
    expect(hintKeys(KEYMAP.find((b) => b.action === 'leave')!)).toBe('q');
  });
  it('help rows: one per help text, in table order, keys of every entry with that text', () => {
    const rows = helpRows();
    const withHelp = KEYMAP.filter((b) => b.help && (b.when.runs.includes('live') || b.when.runs.includes('finished')));
    expect(rows.map((r) => r.text)).toEqual([...new Set(withHelp.map((b) => b.help))]);
    for (const b of withHelp) expect(rows.find((r) => r.text === b.help)!.keys).toEqual(expect.arrayContaining(keyLabels(b)));
    expect(rows.map((r) => r.keys.join('  or  '))).toEqual(['x  or  !', 'Ctrl+C', 'r', 'p', 'n', '?  or  Esc', 'q']);
    expect(rows.filter((r) => r.danger).map((r) => r.keys)).toEqual([['x', '!']]);
  });
  it("a replay's help rows are its own keys, and the live run's keys as read only", () => {
    expect(helpRows(undefined, ['replay']).map((r) => r.keys.join(' '))).toEqual([
      'space',
      '← →',
      '- + =',
      'x ! r p n',
      '? Esc',
      'q Ctrl+C',
    ]);
  });
  it('the key line offers the keys bound in the keys mode, in table order', () => {
    expect(hintBindings('live').map((b) => b.action)).toEqual(['stop', 'rollback', 'pause', 'note', 'help', 'quit']);
    expect(hintBindings('finished').map((b) => b.action)).toEqual(['leave', 'help']);
    expect(hintBindings('replay').map((b) => b.action)).toEqual([
      'replay-pause',
      'seek-back',
      'seek-forward',
      'slower',
      'faster',
      'help',
      'replay-leave',
    ]);
    expect(hintBindings('replay').map((b) => hintKeys(b))).toEqual(['space', '←', '→', '-', '+/=', '?', 'q']);
  });
  it('every key the key line names does that in that run state', () => {
    const asPressed: Record<string, Press> = { space: ch(' '), '←': KEY.left, '→': KEY.right };
    for (const run of ['live', 'finished', 'replay'] as const) {
      for (const b of hintBindings(run)) {
        for (const k of hintKeys(b).split('/')) {
          const p = asPressed[k] ?? ch(k);
          expect(bindingFor(p.input, p.key, 'keys', run)).toBe(b);
        }
      }
    }
  });
  it('the quit question and the note line name the keys that answer them', () => {
    const [yes, no] = /\((.)\/(.)\)$/.exec(QUIT_QUESTION)!.slice(1);
    expect(bindingFor(yes, flags(), 'confirm-quit', 'live')?.action).toBe('quit-yes');
    expect(bindingFor(no, flags(), 'confirm-quit', 'live')?.action).toBe('quit-no');
    expect(QUIT_QUESTION).toBe('Fault active — quit and roll back? (y/n)');
    expect(noteHint()).toBe('Enter adds · Esc cancels');
    expect(bindingFor('', flags({ return: true }), 'note', 'live')?.action).toBe('note-add');
    expect(bindingFor('', flags({ escape: true }), 'note', 'live')?.action).toBe('note-cancel');
  });
});

describe('the README', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const room = readme.slice(readme.indexOf('## The control room'), readme.indexOf('\n## ', readme.indexOf('## The control room') + 1));
  const replayAt = room.indexOf('### Replay');

  it('documents only keys the control room binds, each with help text', () => {
    const section = room.slice(0, replayAt);
    const documented = [...section.matchAll(/`(.)`/g)].map((m) => m[1]);
    expect(documented).toEqual(expect.arrayContaining(['x', '!', 'r', 'p', 'n', '?', 'q']));
    const helped = helpRows().flatMap((r) => r.keys);
    for (const k of documented) {
      expect(bindingFor(k, flags(), 'keys', 'live'), k).toBeDefined();
      expect(helped, k).toContain(k);
    }
    expect(section).toContain('Ctrl+C is an emergency stop');
    expect(helped).toContain('Ctrl+C');
  });
  it("documents a replay's keys as the replay binds them, each with help text", () => {
    expect(replayAt).toBeGreaterThan(0);
    const section = room.slice(replayAt);
    const documented = [...section.matchAll(/`(.)`/g)].map((m) => m[1]);
    expect(documented).toEqual(expect.arrayContaining(['-', '+', '=', '?', 'q']));
    const helped = helpRows(undefined, ['replay']).flatMap((r) => r.keys);
    for (const k of documented) {
      expect(bindingFor(k, flags(), 'keys', 'replay'), k).toBeDefined();
      expect(helped, k).toContain(k);
    }
    // the named keys, as the section writes them (across line breaks)
    const text = section.replace(/\s+/g, ' ');
    expect(text).toContain('space pauses and resumes');
    expect(text).toContain('← and → seek 5 s back and forward');
    for (const k of ['space', '←', '→', 'Ctrl+C']) expect(helped, k).toContain(k);
    for (const k of 'x!rpn') expect(bindingFor(k, flags(), 'keys', 'replay')?.action, k).toBe('read-only');
  });
});
