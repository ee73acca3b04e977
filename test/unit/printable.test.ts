// Control characters in user strings are shown, not obeyed: a name, a note or a command's stderr
// holding ESC must not clear the screen, retitle the window or forge a line of output.
import { describe, expect, it } from 'vitest';
import { printable } from '../../src/headless/printable.ts';

describe('printable', () => {
  it('shows C0 controls, DEL and C1 controls as escapes', () => {
    expect(printable('a\u001b[2Jb')).toBe('a\\x1b[2Jb');
    expect(printable('one\ntwo\r\tthree')).toBe('one\\ntwo\\r\\tthree');
    expect(printable('\u0000\u0007\u007f\u0085\u009b31m')).toBe('\\x00\\x07\\x7f\\x85\\x9b31m');
    expect(printable('\u001b]0;pwned\u0007')).toBe('\\x1b]0;pwned\\x07');
  });

  it('leaves printable text alone, unicode included', () => {
    const text = 'checkout-latency → 127.0.0.1:8080 · p95 812ms ±50ms ✓ 日本 🙂 \u00a0é \\x1b';
    expect(printable(text)).toBe(text);
  });

  it('keeps newlines for a face that writes several lines of its own, and nothing else', () => {
    expect(printable('line 1\nline 2\u001b[31m\r', { lines: true })).toBe('line 1\nline 2\\x1b[31m\\r');
  });
});
