// The key reducer without Ink: every key in every mode and run state, the note's editing keys, the
// quit question both ways, Ctrl+C twice, bursts, and the run ending under the keys.
import { describe, expect, it } from 'vitest';
import {
  INITIAL_KEY_STATE,
  NOTE_MAX_CHARS,
  contextOf,
  noticeExpired,
  pressesOf,
  reduceKey,
  runFinished,
  type KeyContext,
  type KeyEffect,
  type KeyResult,
  type KeyState,
  type Press,
} from '../../components/key-reducer.ts';
import { ACCENT } from '../../components/colors.ts';
import { shown } from '../../components/shown.ts';
import { KEY, ch, flags } from './key-presses.ts';

const OBSERVING: KeyContext = { finished: false, faultActive: true, faultPaused: false, phase: 'observe' };
const live = (over: Partial<KeyContext> = {}): KeyContext => ({ ...OBSERVING, ...over });
const NO_FAULT = live({ faultActive: false, phase: 'baseline' });
const FINISHED = live({ finished: true, faultActive: false, phase: 'done' });

const state = (over: Partial<KeyState> = {}): KeyState => ({ ...INITIAL_KEY_STATE, ...over });
const typing = (note = '') => state({ mode: 'note', note });
const asking = () => state({ mode: 'confirm-quit' });

/** Several presses in a row, each seeing the state the previous one left; effects in order. */
function keys(from: KeyState, presses: Press[], ctx: KeyContext = OBSERVING): KeyResult {
  let s = from;
  const effects: KeyEffect[] = [];
  for (const p of presses) {
    const out = reduceKey(s, p, ctx);
    s = out.state;
    effects.push(...out.effects);
  }
  return { state: s, effects };
}
/** A chunk as Ink hands it over: split the way App splits it, then reduced key by key. */
const burst = (from: KeyState, input: string, ctx: KeyContext = OBSERVING) => keys(from, pressesOf(input, flags()), ctx);

const STOP_NOTICE = { text: '■ EMERGENCY STOP — fault coming out, rolling back', color: 'red' };

describe('x, X and ! stop at once', () => {
  for (const input of ['x', 'X', '!']) {
    it(`${input} while the run is live`, () => {
      const out = reduceKey(state({ help: true }), ch(input), OBSERVING);
      expect(out.effects).toEqual([{ type: 'emergency-stop', source: 'keyboard' }]);
      expect(out.state).toEqual(state({ help: true, notice: STOP_NOTICE }));
    });
  }
  it('even with nothing injected: the stop is the engine’s to sort out', () => {
    expect(reduceKey(state(), ch('x'), NO_FAULT).effects).toEqual([{ type: 'emergency-stop', source: 'keyboard' }]);
  });
  it('while the quit question is asked, which it closes', () => {
    const out = reduceKey(asking(), ch('x'), OBSERVING);
    expect(out.effects).toEqual([{ type: 'emergency-stop', source: 'keyboard' }]);
    expect(out.state.mode).toBe('keys');
  });
  it('not while typing a note: x, X and ! are letters there', () => {
    const out = keys(typing(), [ch('x'), ch('X'), ch('!')]);
    expect(out.effects).toEqual([]);
    expect(out.state.note).toBe('xX!');
  });
  it('not once the summary is on screen', () => {
    for (const input of ['x', 'X', '!']) expect(reduceKey(state(), ch(input), FINISHED)).toEqual({ state: state(), effects: [] });
  });
  it('Meta+x and Ctrl+x stop too (Ink reports the letter as the input)', () => {
    expect(reduceKey(state(), KEY.metaX, OBSERVING).effects).toHaveLength(1);
    expect(reduceKey(state(), { input: 'x', key: flags({ ctrl: true }) }, OBSERVING).effects).toHaveLength(1);
  });
});

describe('Ctrl+C', () => {
  it('stops, and leaves once the summary is in', () => {
    const out = reduceKey(state(), KEY.ctrlC, OBSERVING);
    expect(out.effects).toEqual([{ type: 'emergency-stop', source: 'ctrl-c' }]);
    expect(out.state).toEqual(
      state({
        ctrlCSeen: true,
        leaveWhenDone: true,
        notice: { text: '■ EMERGENCY STOP (Ctrl+C) — rolling back, leaving when done · Ctrl+C again leaves now', color: 'red' },
      }),
    );
    expect(runFinished(out.state)).toEqual({ state: { ...out.state, left: true }, effects: [{ type: 'quit' }] });
  });
  it('a second Ctrl+C leaves at once, without a second stop', () => {
    const out = keys(state(), [KEY.ctrlC, KEY.ctrlC]);
    expect(out.effects).toEqual([{ type: 'emergency-stop', source: 'ctrl-c' }, { type: 'quit' }]);
    expect(out.state.left).toBe(true);
    // and the summary arriving later does not ask to leave again
    expect(runFinished(out.state).effects).toEqual([]);
  });
  it('a third Ctrl+C does nothing more', () => {
    expect(keys(state(), [KEY.ctrlC, KEY.ctrlC, KEY.ctrlC]).effects).toHaveLength(2);
  });
  it('works while typing a note: the note is left, not added', () => {
    const out = reduceKey(typing('half a thou'), KEY.ctrlC, OBSERVING);
    expect(out.effects).toEqual([{ type: 'emergency-stop', source: 'ctrl-c' }]);
    expect(out.state.mode).toBe('keys');
    expect(out.state.note).toBe('half a thou');
  });
  it('works during the quit question', () => {
    const out = reduceKey(asking(), KEY.ctrlC, OBSERVING);
    expect(out.effects).toEqual([{ type: 'emergency-stop', source: 'ctrl-c' }]);
    expect(out.state.mode).toBe('keys');
  });
  it('leaves at once after the run, in any mode', () => {
    for (const from of [state(), typing('x'), asking()]) {
      expect(reduceKey(from, KEY.ctrlC, FINISHED)).toEqual({ state: { ...from, left: true }, effects: [{ type: 'quit' }] });
    }
  });
  it('Ctrl+A is not Ctrl+C', () => {
    expect(reduceKey(state(), KEY.ctrlA, OBSERVING)).toEqual({ state: state(), effects: [] });
  });
});

describe('r rolls back now, only while a fault is active', () => {
  for (const input of ['r', 'R']) {
    it(`${input} with a fault in`, () => {
      const out = reduceKey(state(), ch(input), OBSERVING);
      expect(out.effects).toEqual([{ type: 'rollback-now' }]);
      expect(out.state.notice).toEqual({ text: '↺ rollback requested', color: 'magenta' });
    });
  }
  it('with the fault paused: it is still in', () => {
    const paused = contextOf({ summary: null, faultActive: false, faultPaused: true, phase: 'observe' });
    expect(reduceKey(state(), ch('r'), paused).effects).toEqual([{ type: 'rollback-now' }]);
  });
  it('without a fault, says so', () => {
    for (const phase of ['preflight', 'baseline', 'rollback', 'verify', 'done'] as const) {
      const out = reduceKey(state(), ch('r'), live({ faultActive: false, phase }));
      expect(out.effects).toEqual([]);
      expect(out.state.notice).toEqual({ text: 'no active fault to roll back' });
    }
  });
});

describe('p pauses and resumes, only while observing', () => {
  it('pauses', () => {
    const out = reduceKey(state(), ch('p'), OBSERVING);
    expect(out.effects).toEqual([{ type: 'toggle-pause' }]);
    expect(out.state.notice).toEqual({ text: '‖ pausing the fault', color: 'yellow' });
  });
  it('resumes (P too)', () => {
    const out = reduceKey(state(), ch('P'), live({ faultPaused: true }));
    expect(out.effects).toEqual([{ type: 'toggle-pause' }]);
    expect(out.state.notice).toEqual({ text: '▶ resuming the fault', color: 'yellow' });
  });
  it('with a fault in but not observing (injecting, rolling back), says so', () => {
    for (const phase of ['inject', 'rollback'] as const) {
      const out = reduceKey(state(), ch('p'), live({ phase }));
      expect(out.effects).toEqual([]);
      expect(out.state.notice).toEqual({ text: 'the fault can be paused only while observing' });
    }
  });
  it('without a fault, says so', () => {
    const out = reduceKey(state(), ch('p'), NO_FAULT);
    expect(out.effects).toEqual([]);
    expect(out.state.notice).toEqual({ text: 'no active fault to pause' });
  });
});

describe('? and Esc: the help overlay', () => {
  it('? opens and closes it', () => {
    const open = reduceKey(state(), ch('?'), OBSERVING);
    expect(open).toEqual({ state: state({ help: true }), effects: [] });
    expect(reduceKey(open.state, ch('?'), OBSERVING).state.help).toBe(false);
  });
  it('? works during the quit question, which stays', () => {
    expect(reduceKey(asking(), ch('?'), OBSERVING).state).toEqual(state({ mode: 'confirm-quit', help: true }));
  });
  it('? works after the run', () => {
    expect(reduceKey(state(), ch('?'), FINISHED).state.help).toBe(true);
  });
  it('? is a character in a note', () => {
    expect(reduceKey(typing('why'), ch('?'), OBSERVING).state).toEqual(typing('why?'));
  });
  it('Esc closes it, and does nothing more while the run is live', () => {
    expect(reduceKey(state({ help: true }), KEY.esc, OBSERVING)).toEqual({ state: state(), effects: [] });
    expect(reduceKey(state(), KEY.esc, OBSERVING)).toEqual({ state: state(), effects: [] });
  });
  it('keys keep working under it', () => {
    expect(reduceKey(state({ help: true }), ch('r'), OBSERVING).effects).toEqual([{ type: 'rollback-now' }]);
  });
});

describe('n: a note', () => {
  it('n and N open the note line, closing the help', () => {
    for (const input of ['n', 'N']) {
      expect(reduceKey(state({ help: true, note: 'stale' }), ch(input), OBSERVING)).toEqual({ state: typing(), effects: [] });
    }
  });
  it('not after the run', () => {
    expect(reduceKey(state(), ch('n'), FINISHED).state.mode).toBe('keys');
  });
  it('Enter adds the note, trimmed, and says so', () => {
    const out = reduceKey(typing('  cache cold '), KEY.enter, OBSERVING);
    expect(out.effects).toEqual([{ type: 'add-note', text: 'cache cold' }]);
    expect(out.state).toEqual(state({ notice: { text: '✎ note added: cache cold', color: ACCENT.note } }));
  });
  it('the notice shows the note as the screen shows user text', () => {
    const text = 'token=s3cret \\x1b';
    expect(reduceKey(typing(text), KEY.enter, OBSERVING).state.notice?.text).toBe(`✎ note added: ${shown(text)}`);
  });
  it('Enter on an empty or blank note adds nothing and closes the line', () => {
    for (const note of ['', '   ']) expect(reduceKey(typing(note), KEY.enter, OBSERVING)).toEqual({ state: state(), effects: [] });
  });
  it('Esc cancels', () => {
    expect(reduceKey(typing('abc'), KEY.esc, OBSERVING)).toEqual({ state: state(), effects: [] });
  });
  it('Backspace and Delete take off the last character, an emoji whole', () => {
    expect(reduceKey(typing('abc'), KEY.backspace, OBSERVING).state.note).toBe('ab');
    expect(reduceKey(typing('ab\u{1F525}'), KEY.delete, OBSERVING).state.note).toBe('ab');
    expect(reduceKey(typing(''), KEY.backspace, OBSERVING).state).toEqual(typing(''));
  });
  it('takes every letter as text, the keys’ letters included', () => {
    const out = keys(typing(), [...'xXrRpPnN?qQyY!'].map(ch));
    expect(out).toEqual({ state: typing('xXrRpPnN?qQyY!'), effects: [] });
  });
  it('drops control characters typed or pasted: C0, DEL and C1', () => {
    expect(reduceKey(typing('a'), ch('b\u001b[2J\u0007c\u009b31md\u007f'), OBSERVING).state.note).toBe('ab[2Jc31md');
    const only = typing('a');
    expect(reduceKey(only, ch('\u001b'), OBSERVING).state).toBe(only);
    expect(reduceKey(only, ch('\u0085'), OBSERVING).state).toBe(only);
  });
  it('ignores Ctrl, Meta and Tab keys', () => {
    for (const p of [KEY.ctrlA, KEY.metaX, KEY.tab, { input: '\t', key: flags({ tab: true }) }]) {
      const from = typing('a');
      expect(reduceKey(from, p, OBSERVING)).toEqual({ state: from, effects: [] });
    }
  });
  it(`stops at ${NOTE_MAX_CHARS} characters, counting an emoji as one`, () => {
    const full = typing('\u{1F525}'.repeat(NOTE_MAX_CHARS));
    expect(reduceKey(full, ch('a'), OBSERVING).state.note).toBe(full.note);
    const nearly = typing('a'.repeat(NOTE_MAX_CHARS - 1));
    expect([...reduceKey(nearly, ch('bcd'), OBSERVING).state.note]).toHaveLength(NOTE_MAX_CHARS);
    expect(reduceKey(nearly, ch('bcd'), OBSERVING).state.note.endsWith('ab')).toBe(true);
    // at the limit, Backspace still makes room and Enter adds all of it
    expect([...reduceKey(full, KEY.backspace, OBSERVING).state.note]).toHaveLength(NOTE_MAX_CHARS - 1);
    expect(reduceKey(full, KEY.enter, OBSERVING).effects).toEqual([{ type: 'add-note', text: full.note }]);
  });
  it('the run ending does not close the note; it can still be added', () => {
    expect(runFinished(typing('late'))).toEqual({ state: typing('late'), effects: [] });
    expect(reduceKey(typing('late'), KEY.enter, FINISHED).effects).toEqual([{ type: 'add-note', text: 'late' }]);
    expect(reduceKey(typing('late'), ch('q'), FINISHED).state.note).toBe('lateq');
  });
});

describe('q: quit', () => {
  it('asks while a fault is active, while injecting and while observing', () => {
    const injecting = live({ faultActive: false, phase: 'inject' });
    for (const ctx of [OBSERVING, live({ faultActive: false, faultPaused: true }), injecting, live({ faultActive: false })]) {
      expect(reduceKey(state(), ch('q'), ctx)).toEqual({ state: asking(), effects: [] });
    }
    expect(reduceKey(state(), ch('Q'), OBSERVING).state.mode).toBe('confirm-quit');
  });
  it('y (or Y) quits: an emergency stop that rolls back, then the summary', () => {
    for (const input of ['y', 'Y']) {
      const out = keys(state(), [ch('q'), ch(input)]);
      expect(out.effects).toEqual([{ type: 'emergency-stop', source: 'quit' }]);
      expect(out.state).toEqual(state({ notice: { text: 'quitting — rolling back; the summary follows', color: 'yellow' } }));
    }
  });
  it('n, N or Esc keeps the run going', () => {
    for (const p of [ch('n'), ch('N'), KEY.esc]) expect(keys(state(), [ch('q'), p])).toEqual({ state: state(), effects: [] });
  });
  it('other keys leave the question open and do nothing', () => {
    for (const p of [ch('q'), ch('r'), ch('p'), ch('a'), KEY.enter, KEY.backspace]) {
      expect(reduceKey(asking(), p, OBSERVING)).toEqual({ state: asking(), effects: [] });
    }
  });
  it('during rollback and verify only says the summary follows', () => {
    for (const phase of ['rollback', 'verify'] as const) {
      expect(reduceKey(state(), ch('q'), live({ faultActive: false, phase }))).toEqual({
        state: state({ notice: { text: 'rolling back — the summary follows (x stops at once)', color: 'magenta' } }),
        effects: [],
      });
    }
  });
  it('with the run done but no summary yet, leaves', () => {
    const done = live({ faultActive: false, phase: 'done' });
    expect(reduceKey(state(), ch('q'), done)).toEqual({ state: state({ left: true }), effects: [{ type: 'quit' }] });
  });
  it('with nothing injected yet, stops without asking', () => {
    for (const phase of ['preflight', 'baseline'] as const) {
      expect(reduceKey(state(), ch('q'), live({ faultActive: false, phase }))).toEqual({
        state: state({ notice: { text: 'stopping — nothing was injected; the summary follows', color: 'yellow' } }),
        effects: [{ type: 'emergency-stop', source: 'quit' }],
      });
    }
  });
  it('the question is dropped when the run ends on its own; its y then does nothing', () => {
    const dropped = runFinished(asking());
    expect(dropped).toEqual({ state: state(), effects: [] });
    expect(reduceKey(dropped.state, ch('y'), FINISHED)).toEqual({ state: state(), effects: [] });
  });
  it('a key arriving before the question is dropped gets the summary’s keys', () => {
    expect(reduceKey(asking(), ch('y'), FINISHED)).toEqual({ state: asking(), effects: [] });
    expect(reduceKey(asking(), ch('q'), FINISHED).effects).toEqual([{ type: 'quit' }]);
  });
});

describe('after the run: the summary', () => {
  it('q, Q, Enter and Esc leave, once', () => {
    for (const p of [ch('q'), ch('Q'), KEY.enter, KEY.esc]) {
      const out = reduceKey(state({ help: true }), p, FINISHED);
      expect(out).toEqual({ state: state({ help: true, left: true }), effects: [{ type: 'quit' }] });
      expect(reduceKey(out.state, p, FINISHED).effects).toEqual([]);
    }
  });
  it('the run keys do nothing', () => {
    for (const p of [ch('x'), ch('!'), ch('r'), ch('p'), ch('n'), ch('y'), KEY.backspace, KEY.tab]) {
      expect(reduceKey(state(), p, FINISHED)).toEqual({ state: state(), effects: [] });
    }
  });
});

describe('keys that mean nothing', () => {
  it('change nothing, in every mode and run state, and give back the same state', () => {
    for (const [from, ctx] of [
      [state(), OBSERVING],
      [asking(), OBSERVING],
      [state(), FINISHED],
    ] as const) {
      for (const p of [ch('z'), ch('1'), KEY.tab, KEY.ctrlA, { input: '', key: flags() }]) expect(reduceKey(from, p, ctx).state).toBe(from);
    }
  });
});

describe('bursts: a paste or fast typing, one key at a time', () => {
  it('splits a chunk into keys, with the flags each character stands for', () => {
    expect(pressesOf('aB\r\n\b\u007f\t\u0003', flags())).toEqual([
      { input: 'a', key: flags() },
      { input: 'B', key: flags({ shift: true }) },
      { input: '\r', key: flags({ return: true }) },
      { input: '\n', key: flags({ return: true }) },
      { input: '\b', key: flags({ backspace: true }) },
      { input: '\u007f', key: flags({ delete: true }) },
      { input: '\t', key: flags({ tab: true }) },
      { input: 'c', key: flags({ ctrl: true }) },
    ]);
  });
  it('leaves single keys, emoji, and chunks with Ctrl, Meta or Esc whole', () => {
    for (const [input, key] of [
      ['x', flags()],
      ['', flags({ return: true })],
      ['\u{1F525}', flags()],
      ['ab', flags({ ctrl: true })],
      ['ab', flags({ meta: true })],
      ['ab', flags({ escape: true })],
    ] as const) {
      expect(pressesOf(input, key)).toEqual([{ input, key }]);
    }
  });
  it('keeps the rest of Ink’s key on every character', () => {
    const inkKey = { ...flags(), upArrow: false, super: false };
    expect(pressesOf('ab', inkKey)[1].key).toEqual(inkKey);
  });
  it('n, text and Enter in one chunk make a note; a key after it acts', () => {
    const out = burst(state(), 'ndns flapping\rr');
    expect(out.effects).toEqual([{ type: 'add-note', text: 'dns flapping' }, { type: 'rollback-now' }]);
    expect(out.state.mode).toBe('keys');
  });
  it('q then y in one chunk quits', () => {
    expect(burst(state(), 'qy').effects).toEqual([{ type: 'emergency-stop', source: 'quit' }]);
  });
  it('Ctrl+C inside a note burst stops, and the rest acts as keys', () => {
    const out = burst(typing(), 'abc\u0003x');
    expect(out.effects).toEqual([
      { type: 'emergency-stop', source: 'ctrl-c' },
      { type: 'emergency-stop', source: 'keyboard' },
    ]);
    expect(out.state.note).toBe('abc');
  });
  it('pasted text with Backspace (DEL) and an emoji', () => {
    expect(burst(typing(), 'retry storm\u007f \u{1F525}\r').effects).toEqual([{ type: 'add-note', text: 'retry stor \u{1F525}' }]);
  });
  it('a pasted escape sequence does not steer the note', () => {
    expect(burst(typing(), 'a\u001b[2Jb').state.note).toBe('a[2Jb');
  });
});

describe('the run’s context and the notice', () => {
  it('contextOf reads the store: a paused fault is still in; the summary means finished', () => {
    expect(contextOf({ summary: null, faultActive: true, faultPaused: false, phase: 'observe' })).toEqual(OBSERVING);
    expect(contextOf({ summary: null, faultActive: false, faultPaused: true, phase: 'observe' })).toEqual(live({ faultPaused: true }));
    expect(contextOf({ summary: {} as never, faultActive: false, faultPaused: false, phase: 'done' })).toEqual(FINISHED);
  });
  it('runFinished leaves a plain state as it is', () => {
    const s = state({ help: true });
    expect(runFinished(s).state).toBe(s);
  });
  it('a notice expires; a newer one stays for its own time', () => {
    const old = { text: 'old' };
    const s = state({ notice: old });
    expect(noticeExpired(s, old).state).toEqual(state());
    const newer = state({ notice: { text: 'new' } });
    expect(noticeExpired(newer, old).state).toBe(newer);
    expect(noticeExpired(state(), old).state).toEqual(state());
  });
});
