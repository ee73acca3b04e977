// The control room draws user strings (the experiment name, the target, the fault, notes, preflight
// details, the summary's reason) redacted and with their control characters shown, not obeyed.
import { afterEach, describe, expect, it } from 'vitest';
import { App } from '../../components/App.tsx';
import { entry, fakeControls, finishedStore, liveState, liveStore } from './fixtures.ts';
import { cleanupAll, renderAt } from './render-at.ts';

afterEach(() => cleanupAll());

const NAME = 'evil\u001b[2J\u001b]0;pwned\u0007\u009b31mname\nFORGED';
const PASSWORD = 's3cr"e@t';
const TARGET = `http://user:${PASSWORD}@127.0.0.1:8080`;
// the injected sequences; Ink's own styling never writes these
const INJECTED = ['\u001b[2J', '\u001b]0;', '\u0007', '\u009b', '\u001b[1A', '\u007f'];

function expectSafe(frame: string) {
  for (const seq of INJECTED) expect(frame).not.toContain(seq);
  expect(frame).not.toContain(PASSWORD);
  expect(frame.split('\n').some((l) => l.trimStart().startsWith('FORGED'))).toBe(false);
}

function hostileLive() {
  const s = liveState();
  return liveStore({
    experiment: { ...s.experiment!, name: NAME, targetUrl: TARGET, faultLabel: 'latency\u001b[1A 800ms' },
    timeline: [
      ...(s.timeline ?? []),
      entry(21_000, 'note', 'note: look\u001b[1A\rhere\u007f'),
      entry(22_000, 'preflight', `✓ target: ${TARGET}/healthz answered`),
    ],
    phase: 'baseline',
    preflight: [{ name: 'target\u001b[2J', status: 'pass', detail: `${TARGET}/healthz → HTTP 200\nFORGED` }],
  });
}

describe('the control room shows user strings safely', () => {
  it('the header, timeline and preflight panes', () => {
    const r = renderAt(<App store={hostileLive()} controls={fakeControls()} onQuit={() => {}} />, { columns: 200, rows: 50 });
    const frame = r.lastFrame();
    expectSafe(frame);
    expect(frame).toContain('evil\\x1b[2J');
    expect(frame).toContain('http://user:***@127.0.0.1:8080');
    expect(frame).toContain('look\\x1b[1A\\rhere\\x7f');
    expect(frame).toContain('target\\x1b[2J');
  });

  it('the summary screen', () => {
    const base = finishedStore().getState().summary!;
    const store = finishedStore({
      summary: { ...base, experiment: NAME, reason: `probe ${TARGET} failed\u001b[2J`, journalPath: '/tmp/j\u001b[2J.json' },
    });
    const r = renderAt(<App store={store} controls={fakeControls()} onQuit={() => {}} />, { columns: 200, rows: 50 });
    const frame = r.lastFrame();
    expectSafe(frame);
    expect(frame).toContain('probe http://user:***@127.0.0.1:8080 failed\\x1b[2J');
  });
});
