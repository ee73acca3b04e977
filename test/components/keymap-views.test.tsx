// The help overlay and the key line are drawn from the key map: every entry with help text is in the
// overlay with its keys, every entry with a hint is on the key line, and nothing else is.
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, render } from 'ink-testing-library';
import { HelpOverlay } from '../../components/HelpOverlay.tsx';
import { KeyHints, KeyLine } from '../../components/KeyHints.tsx';
import { INITIAL_KEY_STATE } from '../../components/key-reducer.ts';
import {
  KEYMAP,
  LIVE_RUNS,
  QUIT_QUESTION,
  helpRows,
  hintBindings,
  hintKeys,
  hintLabel,
  keyLabels,
  noteHint,
} from '../../components/keymap.ts';
import { HELP_LINES, paneOverhead } from '../../components/layout.ts';
import { plain } from './render-at.ts';

afterEach(() => cleanup());

const frame = (el: React.ReactElement) => plain(render(el).lastFrame() ?? '');

describe('the help overlay', () => {
  const out = frame(<HelpOverlay width={120} bordered={false} />);
  const lines = out.split('\n');

  it('shows every entry of a run with help text, on one line with all its keys', () => {
    for (const b of KEYMAP.filter((e) => e.help && e.when.runs.some((r) => LIVE_RUNS.includes(r)))) {
      const line = lines.find((l) => l.includes(b.help!));
      expect(line, b.action).toBeDefined();
      for (const k of keyLabels(b)) expect(line, `${b.action}: ${k}`).toContain(k);
    }
  });
  it('has one line per help row and no other key lines', () => {
    const rows = helpRows();
    const keyLines = lines.filter((l) => rows.some((r) => l.includes(r.text)));
    expect(keyLines).toHaveLength(rows.length);
    expect(lines[1]).toContain(rows[0].text);
    expect(lines[rows.length + 1].trim()).toBe('');
  });
  it('says how it closes, from the help entry’s keys', () => {
    expect(lines[0]).toContain('? or Esc closes');
  });
  it('is as tall as the layout makes room for (a new help line must update HELP_LINES)', () => {
    expect(lines).toHaveLength(HELP_LINES + paneOverhead(false));
  });
  it('of a replay: its keys only, each entry on one line with all its keys, no taller than a run’s', () => {
    const replay = frame(<HelpOverlay width={120} bordered={false} replay />).split('\n');
    for (const b of KEYMAP.filter((e) => e.help && e.when.runs.includes('replay'))) {
      const line = replay.find((l) => l.includes(b.help!));
      expect(line, b.action).toBeDefined();
      for (const k of keyLabels(b)) expect(line, `${b.action}: ${k}`).toContain(k);
    }
    expect(replay.some((l) => l.includes('EMERGENCY STOP'))).toBe(false);
    expect(replay.join('\n')).toContain('no ledger is opened');
    expect(replay.length).toBeLessThanOrEqual(HELP_LINES + paneOverhead(false));
    expect(helpRows(undefined, ['replay']).length).toBeGreaterThan(0);
  });
});

describe('the key line', () => {
  const s = { faultActive: true, faultPaused: false };
  it('offers every hinted entry of the live run, in table order', () => {
    const out = frame(<KeyHints {...s} finished={false} />);
    const at = hintBindings('live').map((b) => out.indexOf(`${hintKeys(b)} ${hintLabel(b, s)}`));
    expect(
      at.every((i) => i >= 0),
      out,
    ).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    // and nothing else (the emergency stop is drawn padded, as a block)
    expect(out.trim().replace(/ +/g, ' ')).toBe(
      hintBindings('live')
        .map((b) => `${hintKeys(b)} ${hintLabel(b, s)}`)
        .join(' '),
    );
  });
  it('says resume while paused, and dims what would do nothing', () => {
    const paused = { faultActive: true, faultPaused: true };
    expect(frame(<KeyHints {...paused} finished={false} />)).toContain('p resume');
    // without a fault, r and p are still offered, dimmed (no colours here to see it by)
    const idle = { faultActive: false, faultPaused: false };
    expect(frame(<KeyHints {...idle} finished={false} />)).toContain('r roll back');
    expect(
      hintBindings('live')
        .filter((b) => b.hint?.active && !b.hint.active(idle))
        .map((b) => b.action),
    ).toEqual(['rollback', 'pause']);
  });
  it('offers every hinted entry after the run, then the exit code', () => {
    const out = frame(<KeyHints {...s} finished exitCode={3} />);
    expect(out.trim()).toBe([...hintBindings('finished').map((b) => `${hintKeys(b)} ${hintLabel(b, s)}`), 'exit code 3'].join('  '));
  });
  it('asks the quit question with the key that still stops', () => {
    const out = frame(<KeyLine {...s} finished={false} width={100} keys={{ ...INITIAL_KEY_STATE, mode: 'confirm-quit' }} />);
    expect(out).toContain(QUIT_QUESTION);
    expect(out).toContain('x stops at once');
  });
  it('shows the note line with its keys', () => {
    const out = frame(<KeyLine {...s} finished={false} width={100} keys={{ ...INITIAL_KEY_STATE, mode: 'note', note: 'hi' }} />);
    expect(out).toContain('note › hi');
    expect(out).toContain(noteHint());
  });
  it('puts the main keys beside a notice', () => {
    const keys = { ...INITIAL_KEY_STATE, notice: { text: 'hello' } };
    expect(frame(<KeyLine {...s} finished={false} width={100} keys={keys} />)).toBe('hello  · x/! stop · ? help');
    expect(frame(<KeyLine {...s} finished width={100} keys={keys} />)).toBe('hello  · q quit');
  });
  it('with nothing else to show, is the key hints', () => {
    const line = frame(<KeyLine {...s} finished={false} width={100} keys={INITIAL_KEY_STATE} />);
    expect(line).toBe(frame(<KeyHints {...s} finished={false} />));
  });
  it('without raw mode, says there are no keys', () => {
    expect(frame(<KeyLine {...s} finished={false} inputless width={100} keys={{ ...INITIAL_KEY_STATE, mode: 'note' }} />)).toContain(
      'keyboard unavailable',
    );
  });
});
