// ink-testing-library's render with a terminal of a chosen size (its own is fixed at 100 columns and
// has no rows), and a stdin that reports raw mode. Frames are whole screens (debug mode).
import { EventEmitter } from 'node:events';
import type { ReactElement } from 'react';
import { render as inkRender, type Instance } from 'ink';

export class FakeStdout extends EventEmitter {
  frames: string[] = [];
  isTTY = true;
  constructor(
    public columns: number,
    public rows: number,
  ) {
    super();
  }
  write = (frame: string): boolean => {
    // cursor show/hide and other bare control sequences are not frames

    if (frame.replace(/\u001b\[[?0-9;]*[A-Za-z]/g, '') === '') return true;
    this.frames.push(frame);
    return true;
  };
  lastFrame = (): string | undefined => this.frames[this.frames.length - 1];
  resize(columns: number, rows: number): void {
    this.columns = columns;
    this.rows = rows;
    this.emit('resize');
  }
}

export class FakeStdin extends EventEmitter {
  isTTY = true;
  private data: string | null = null;
  constructor(isTTY = true) {
    super();
    this.isTTY = isTTY;
  }
  write = (data: string): void => {
    this.data = data;
    this.emit('readable');
    this.emit('data', data);
  };
  read = (): string | null => {
    const { data } = this;
    this.data = null;
    return data;
  };
  setEncoding(): void {}
  setRawMode(): void {}
  resume(): void {}
  pause(): void {}
  ref(): void {}
  unref(): void {}
}

export interface Rendered {
  stdout: FakeStdout;
  stdin: FakeStdin;
  lastFrame: () => string;
  unmount: () => void;
  rerender: Instance['rerender'];
  /** waits a tick, so a just-rendered input handler is armed, then writes */
  press: (data: string) => Promise<void>;
}

export const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const mounted: Instance[] = [];

export function renderAt(tree: ReactElement, opts: { columns?: number; rows?: number; tty?: boolean } = {}): Rendered {
  const stdout = new FakeStdout(opts.columns ?? 120, opts.rows ?? 40);
  const stdin = new FakeStdin(opts.tty ?? true);
  const stderr = new FakeStdout(opts.columns ?? 120, opts.rows ?? 40);
  const instance = inkRender(tree, {
    stdout: stdout as unknown as NodeJS.WriteStream,
    stderr: stderr as unknown as NodeJS.WriteStream,
    stdin: stdin as unknown as NodeJS.ReadStream,
    debug: true,
    exitOnCtrlC: false,
    patchConsole: false,
  });
  mounted.push(instance);
  return {
    stdout,
    stdin,
    lastFrame: () => stdout.lastFrame() ?? '',
    unmount: instance.unmount,
    rerender: instance.rerender,
    press: async (data: string) => {
      await tick();
      stdin.write(data);
      await tick();
    },
  };
}

export function cleanupAll(): void {
  for (const instance of mounted.splice(0)) {
    instance.unmount();
    instance.cleanup();
  }
}

/** Strips ANSI escapes (colours) from a frame. */
export function plain(frame: string): string {
  return frame.replace(/\u001b\[[?0-9;]*[A-Za-z]/g, '');
}
