// Works around an off-by-one in Ink 6.8.0's incremental renderer (vadimdemedes/ink#909; Ink 7+, which
// fixes its renderer, needs Node 22). When a frame ends with a newline — always, while the frame is
// shorter than the terminal — Ink moves the cursor up one row too few before rewriting the changed
// lines, so every frame lands one row lower than the last and the screen fills with stale copies.
//
// The fixer sits between Ink and the terminal. It follows the frames Ink writes (how many lines,
// whether the last one ended with a newline) and, on an incremental update that starts with
// "cursor up N-1" after an N-line frame that ended with a newline, writes "cursor up N" instead. It
// calibrates itself from what Ink emits: an Ink that already moves up N is left alone.
//
// The frame grammar it reads (Ink 6.8 log-update):
//   full frame:         [eraseLines(k)] <lines joined by \n> [\n]
//   incremental update: ESC[{n}A then per line ESC[E (unchanged) or ESC[1G <line> ESC[K [\n]
//   shrinking update:   eraseLines(k) ESC[{v}A then the same per-line segments
// Anything else (cursor show/hide, synchronized-output markers, queries) passes through untouched.

const ESC = '\u001b[';
const ERASE_PREFIX = /^(?:\u001b\[2K(?:\u001b\[1A)?)*\u001b\[2K\u001b\[G/;
const CURSOR_UP = /^\u001b\[(\d+)A(?=\u001b\[E|\u001b\[1G)/;
const CLEAR_TERMINAL = /^\u001b\[2J/;

export interface IncrementalFixer {
  (chunk: string): string;
  /** lines of the frame on screen, as the fixer understands it */
  readonly state: () => { lines: number; trailingNewline: boolean; corrections: number };
}

function countSegments(body: string): number {
  let lines = 0;
  for (let i = body.indexOf(ESC); i !== -1; i = body.indexOf(ESC, i + 2)) {
    if (body.startsWith(`${ESC}E`, i) || body.startsWith(`${ESC}1G`, i)) lines++;
  }
  return lines;
}

export function createIncrementalFixer(): IncrementalFixer {
  let lines = 0;
  let trailingNewline = false;
  let corrections = 0;

  const remember = (frame: string) => {
    trailingNewline = frame.endsWith('\n');
    lines = frame === '' ? 0 : frame.split('\n').length - (trailingNewline ? 1 : 0);
  };

  const fix = ((chunk: string): string => {
    if (chunk === '' || (!chunk.includes('\n') && !chunk.startsWith(ESC))) return chunk;

    const up = CURSOR_UP.exec(chunk);
    if (up) {
      // an incremental update in place
      const n = Number(up[1]);
      let out = chunk;
      if (trailingNewline && lines > 1 && n === lines - 1) {
        out = `${ESC}${lines}A` + chunk.slice(up[0].length);
        corrections++;
      }
      const body = chunk.slice(up[0].length);
      lines = countSegments(body);
      trailingNewline = body.endsWith('\n') || body.endsWith(`${ESC}E`);
      return out;
    }

    const erase = ERASE_PREFIX.exec(chunk);
    if (erase) {
      const rest = chunk.slice(erase[0].length);
      const shrink = CURSOR_UP.exec(rest);
      if (shrink) {
        const body = rest.slice(shrink[0].length);
        lines = countSegments(body);
        trailingNewline = body.endsWith('\n') || body.endsWith(`${ESC}E`);
      } else {
        remember(rest);
      }
      return chunk;
    }

    if (CLEAR_TERMINAL.test(chunk)) {
      // a full-screen redraw: what follows the last clear sequence is the frame
      const at = chunk.lastIndexOf(`${ESC}H`);
      remember(at === -1 ? '' : chunk.slice(at + 3));
      return chunk;
    }

    if (!chunk.startsWith(ESC) || /^\u001b\[[0-9;]*m/.test(chunk)) {
      // the first frame (nothing to erase yet), which may open with a colour
      remember(chunk);
    }
    return chunk;
  }) as IncrementalFixer;
  Object.defineProperty(fix, 'state', { value: () => ({ lines, trailingNewline, corrections }) });
  return fix;
}

/** The stream as Ink should see it: the same terminal, with frames passed through the fixer. */
export function withIncrementalFix(stream: NodeJS.WriteStream): NodeJS.WriteStream {
  const fix = createIncrementalFixer();
  const write = (chunk: unknown, ...rest: unknown[]): boolean =>
    (stream.write as (...args: unknown[]) => boolean)(typeof chunk === 'string' ? fix(chunk) : chunk, ...rest);
  return new Proxy(stream, {
    get(target, prop) {
      if (prop === 'write') return write;
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
