// The keys: x and ! stop at once, r rolls back, p pauses, n takes a note, ? toggles help, q asks
// while a fault is active, Ctrl+C stops and then leaves.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, render } from 'ink-testing-library';
import { App } from '../../components/App.tsx';
import { QUIT_QUESTION } from '../../components/keymap.ts';
import type { GamedayStore } from '../../src/state/store.ts';
import { fakeControls, finishedStore, liveStore } from './fixtures.ts';
import { plain } from './render-at.ts';

afterEach(() => cleanup());

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));
/** React may spread a render over several macrotasks on a slow machine: poll for the frame. */
const eventually = (assertion: () => void) => vi.waitFor(assertion, { timeout: 3000, interval: 10 });

function setup(store: GamedayStore = liveStore()) {
  const controls = fakeControls();
  const onQuit = vi.fn();
  const r = render(<App store={store} controls={controls} onQuit={onQuit} />);
  const press = async (data: string) => {
    await tick(); // a visible frame does not mean the input handler is armed yet
    r.stdin.write(data);
    await tick();
  };
  const screen = () => plain(r.lastFrame() ?? '');
  return { r, store, controls, calls: controls.calls, onQuit, press, screen };
}

describe('emergency stop', () => {
  it('x stops at once, without confirmation', async () => {
    const t = setup();
    await t.press('x');
    expect(t.calls.emergencyStop).toEqual(['keyboard']);
    await eventually(() => expect(t.screen()).toContain('EMERGENCY STOP — fault coming out'));
  });
  it('! and X stop too', async () => {
    const t = setup();
    await t.press('!');
    await t.press('X');
    expect(t.calls.emergencyStop).toEqual(['keyboard', 'keyboard']);
  });
  it('works even while the quit question is open', async () => {
    const t = setup();
    await t.press('q');
    await t.press('x');
    expect(t.calls.emergencyStop).toEqual(['keyboard']);
  });
  it('works with the help open', async () => {
    const t = setup();
    await t.press('?');
    await t.press('x');
    expect(t.calls.emergencyStop).toEqual(['keyboard']);
  });
  it('Ctrl+C stops, then leaves once the summary is in', async () => {
    const t = setup();
    await t.press('\u0003');
    expect(t.calls.emergencyStop).toEqual(['ctrl-c']);
    expect(t.onQuit).not.toHaveBeenCalled();
    t.store.setState(finishedStore().getState());
    await eventually(() => expect(t.onQuit).toHaveBeenCalledTimes(1));
    await eventually(() => expect(t.screen()).toContain('SLO BREACH'));
  });
  it('a second Ctrl+C leaves at once', async () => {
    const t = setup();
    await t.press('\u0003');
    await t.press('\u0003');
    expect(t.calls.emergencyStop).toEqual(['ctrl-c']);
    expect(t.onQuit).toHaveBeenCalledTimes(1);
  });
  it('Ctrl+C stops even while typing a note', async () => {
    const t = setup();
    await t.press('n');
    await t.press('\u0003');
    expect(t.calls.emergencyStop).toEqual(['ctrl-c']);
    expect(t.calls.addNote).toEqual([]);
  });
});

describe('run keys', () => {
  it('r rolls back now', async () => {
    const t = setup();
    await t.press('r');
    expect(t.calls.rollbackNow).toBe(1);
    await eventually(() => expect(t.screen()).toContain('rollback requested'));
  });
  it('r does nothing without an active fault', async () => {
    const t = setup(liveStore({ phase: 'baseline', faultActive: false, faultStartedAtMs: null }));
    await t.press('r');
    expect(t.calls.rollbackNow).toBe(0);
    await eventually(() => expect(t.screen()).toContain('no active fault to roll back'));
  });
  it('p pauses and resumes the fault', async () => {
    const t = setup();
    await t.press('p');
    expect(t.calls.togglePause).toBe(1);
    await eventually(() => expect(t.screen()).toContain('pausing the fault'));
    t.store.setState({ faultPaused: true });
    await t.press('p');
    expect(t.calls.togglePause).toBe(2);
    await eventually(() => expect(t.screen()).toContain('resuming the fault'));
  });
  it('p only says so outside the observe phase: the engine pauses only while observing', async () => {
    const t = setup(liveStore({ phase: 'inject' }));
    await t.press('p');
    expect(t.calls.togglePause).toBe(0);
    await eventually(() => expect(t.screen()).toContain('the fault can be paused only while observing'));
    expect(t.screen()).not.toContain('pausing the fault');
  });
  it('? toggles the help overlay', async () => {
    const t = setup();
    await eventually(() => expect(t.screen()).not.toContain('show / hide this help'));
    await t.press('?');
    await eventually(() => expect(t.screen()).toContain('show / hide this help'));
    await eventually(() => expect(t.screen()).not.toContain('Budget burn'));
    await t.press('?');
    await eventually(() => expect(t.screen()).not.toContain('show / hide this help'));
    await eventually(() => expect(t.screen()).toContain('Budget burn'));
  });
  it('Esc closes the help', async () => {
    const t = setup();
    await t.press('?');
    await t.press('\u001b');
    await eventually(() => expect(t.screen()).not.toContain('show / hide this help'));
  });
});

describe('notes', () => {
  it('n, typing and Enter add the note', async () => {
    const t = setup();
    await t.press('n');
    await eventually(() => expect(t.screen()).toContain('note ›'));
    for (const ch of 'cache cold') await t.press(ch);
    await eventually(() => expect(t.screen()).toContain('note › cache cold'));
    await t.press('\r');
    expect(t.calls.addNote).toEqual(['cache cold']);
    await eventually(() => expect(t.screen()).toContain('note added: cache cold'));
  });
  it('keys are letters while typing: x and q do not act', async () => {
    const t = setup();
    await t.press('n');
    await t.press('x');
    await t.press('q');
    await t.press('!');
    expect(t.calls.emergencyStop).toEqual([]);
    await eventually(() => expect(t.screen()).not.toContain(QUIT_QUESTION));
    await t.press('\r');
    expect(t.calls.addNote).toEqual(['xq!']);
  });
  it('takes pasted text and backspace', async () => {
    const t = setup();
    await t.press('n');
    await t.press('retry storm');
    await t.press('\u007f');
    await t.press('\r');
    expect(t.calls.addNote).toEqual(['retry stor']);
  });
  it('Esc cancels, and an empty note is not added', async () => {
    const t = setup();
    await t.press('n');
    await t.press('abc');
    await t.press('\u001b');
    await eventually(() => expect(t.screen()).not.toContain('note ›'));
    await t.press('n');
    await t.press('\r');
    expect(t.calls.addNote).toEqual([]);
  });
});

describe('quit', () => {
  it('asks while a fault is active; n keeps the run going', async () => {
    const t = setup();
    await t.press('q');
    await eventually(() => expect(t.screen()).toContain(QUIT_QUESTION));
    expect(t.calls.emergencyStop).toEqual([]);
    expect(t.calls.rollbackNow).toBe(0);
    expect(t.onQuit).not.toHaveBeenCalled();
    await t.press('n');
    await eventually(() => expect(t.screen()).not.toContain(QUIT_QUESTION));
    expect(t.calls.emergencyStop).toEqual([]);
  });
  it('y rolls back through an emergency stop; the summary then waits for q', async () => {
    const t = setup();
    await t.press('q');
    await t.press('y');
    expect(t.calls.emergencyStop).toEqual(['quit']);
    expect(t.onQuit).not.toHaveBeenCalled();
    t.store.setState(finishedStore().getState());
    await tick();
    await eventually(() => expect(t.screen()).toContain('SLO BREACH — rolled back and recovered'));
    expect(t.onQuit).not.toHaveBeenCalled();
    await t.press('q');
    expect(t.onQuit).toHaveBeenCalledTimes(1);
  });
  it('drops the quit question when the run ends on its own; the summary keys then apply', async () => {
    const t = setup();
    await t.press('q');
    await eventually(() => expect(t.screen()).toContain(QUIT_QUESTION));
    t.store.setState(finishedStore().getState());
    await eventually(() => expect(t.screen()).toContain('SLO BREACH — rolled back and recovered'));
    await eventually(() => expect(t.screen()).not.toContain(QUIT_QUESTION));
    await eventually(() => expect(t.screen()).toMatch(/q quit/));
    await t.press('y');
    expect(t.calls.emergencyStop).toEqual([]);
    expect(t.onQuit).not.toHaveBeenCalled();
    await t.press('\r');
    expect(t.onQuit).toHaveBeenCalledTimes(1);
  });
  it('stops without asking when nothing is injected yet', async () => {
    const t = setup(liveStore({ phase: 'baseline', faultActive: false, faultStartedAtMs: null }));
    await t.press('q');
    await eventually(() => expect(t.screen()).not.toContain(QUIT_QUESTION));
    expect(t.calls.emergencyStop).toEqual(['quit']);
    expect(t.onQuit).not.toHaveBeenCalled();
  });
  it('during rollback only says the summary follows', async () => {
    const t = setup(liveStore({ phase: 'rollback', faultActive: false }));
    await t.press('q');
    expect(t.calls.emergencyStop).toEqual([]);
    await eventually(() => expect(t.screen()).toContain('the summary follows'));
  });
  it('after the run, q leaves and x does nothing', async () => {
    const t = setup(finishedStore());
    await t.press('x');
    expect(t.calls.emergencyStop).toEqual([]);
    expect(t.onQuit).not.toHaveBeenCalled();
    await t.press('q');
    expect(t.onQuit).toHaveBeenCalledTimes(1);
  });
});

describe('bursts', () => {
  it('a note typed and submitted in one chunk is added', async () => {
    const t = setup();
    await t.press('n');
    await t.press('retry storm\r');
    expect(t.calls.addNote).toEqual(['retry storm']);
  });
  it('n, text and Enter in one chunk make a note; keys after it act', async () => {
    const t = setup();
    await t.press('ndns flapping\rr');
    expect(t.calls.addNote).toEqual(['dns flapping']);
    expect(t.calls.rollbackNow).toBe(1);
  });
  it('an emoji is one key, alone or in a burst: it goes into the note', async () => {
    const t = setup();
    await t.press('n');
    await t.press('\u{1F525}');
    await t.press('db \u{1F525}\r');
    expect(t.calls.addNote).toEqual(['\u{1F525}db \u{1F525}']);
    await t.press('\u{1F525}');
    expect(t.calls.emergencyStop).toEqual([]);
  });
  it('Ctrl+C inside a burst still stops', async () => {
    const t = setup();
    await t.press('n');
    await t.press('abc\u0003');
    expect(t.calls.emergencyStop).toEqual(['ctrl-c']);
  });
});
