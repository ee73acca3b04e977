// findProgram / checkProgram (a `command -v` without a shell) on real files in a temp dir, and the
// `command` rollback step with real child processes (node -e).
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { commandStep } from '../../src/rollback/command-step.ts';
import { checkProgram, findProgram } from '../../src/rollback/program.ts';

const node = process.execPath;
const root = mkdtempSync(join(tmpdir(), 'gameday-program-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** a fresh dir under root holding `name` as a script with `mode`, or as a directory */
function dirWith(name: string, mode: number | 'dir'): string {
  const dir = mkdtempSync(join(root, 'bin-'));
  if (mode === 'dir') {
    mkdirSync(join(dir, name));
  } else {
    writeFileSync(join(dir, name), '#!/bin/sh\nexit 0\n');
    chmodSync(join(dir, name), mode);
  }
  return dir;
}

describe('findProgram', () => {
  it('takes a name with a slash as a path: an executable file is found, as given', () => {
    const dir = dirWith('tool', 0o755);
    expect(findProgram(join(dir, 'tool'), { PATH: '' })).toBe(join(dir, 'tool'));
    expect(findProgram(node, { PATH: '' })).toBe(node);
    // relative to the working directory, and never looked for on PATH
    const rel = relative(process.cwd(), join(dir, 'tool'));
    expect(rel).toContain('/');
    expect(findProgram(rel, { PATH: '' })).toBe(rel);
    const outer = mkdtempSync(join(root, 'outer-'));
    mkdirSync(join(outer, 'sub'));
    writeFileSync(join(outer, 'sub', 'tool'), '#!/bin/sh\n');
    chmodSync(join(outer, 'sub', 'tool'), 0o755);
    expect(findProgram('sub/tool', { PATH: outer })).toBeNull();
  });

  it('looks a plain name up in each PATH entry in turn, the first one that has it winning', () => {
    const first = dirWith('tool', 0o755);
    const second = dirWith('tool', 0o755);
    const empty = mkdtempSync(join(root, 'empty-'));
    expect(findProgram('tool', { PATH: [empty, first, second].join(delimiter) })).toBe(join(first, 'tool'));
    expect(findProgram('tool', { PATH: [empty, second, first].join(delimiter) })).toBe(join(second, 'tool'));
    expect(findProgram('tool', { PATH: empty })).toBeNull();
    expect(findProgram('tool', {})).toBeNull();
  });

  it('skips a file it may not execute, on PATH and as a path', () => {
    const plain = dirWith('tool', 0o644);
    const good = dirWith('tool', 0o755);
    expect(findProgram(join(plain, 'tool'), { PATH: '' })).toBeNull();
    expect(findProgram('tool', { PATH: plain })).toBeNull();
    expect(findProgram('tool', { PATH: [plain, good].join(delimiter) })).toBe(join(good, 'tool'));
  });

  it('skips a directory of that name (X_OK holds for a directory too)', () => {
    const dir = dirWith('tool', 'dir');
    const good = dirWith('tool', 0o755);
    expect(findProgram(join(dir, 'tool'), { PATH: '' })).toBeNull();
    expect(findProgram('tool', { PATH: dir })).toBeNull();
    expect(findProgram('tool', { PATH: [dir, good].join(delimiter) })).toBe(join(good, 'tool'));
  });

  it('finds nothing for a missing name or an empty one', () => {
    const dir = dirWith('tool', 0o755);
    expect(findProgram('gameday-no-such-program-xyz', { PATH: dir })).toBeNull();
    expect(findProgram('', { PATH: dir })).toBeNull();
  });
});

describe('checkProgram', () => {
  it('passes for a program that is there, and throws naming what and the program when not', () => {
    expect(() => checkProgram([node, '-e', ''], 'fault.restore')).not.toThrow();
    expect(() => checkProgram(['gameday-no-such-program-xyz', '--now'], 'fault.restore')).toThrow(
      'fault.restore: gameday-no-such-program-xyz not found on PATH (or not executable)',
    );
  });
});

describe('commandStep', () => {
  it('is named after its command', () => {
    expect(commandStep({ run: ['flagctl', 'set', 'checkout-v2', 'off'], timeout: 1_000 }).name).toBe(
      'command: flagctl set checkout-v2 off',
    );
  });

  it('check() passes for a program on PATH or by path, and fails for a missing one, naming it', async () => {
    await expect(commandStep({ run: [node, '-e', ''], timeout: 1_000 }).check()).resolves.toBeUndefined();
    await expect(commandStep({ run: ['node', '-e', ''], timeout: 1_000 }).check()).resolves.toBeUndefined();
    await expect(commandStep({ run: ['gameday-no-such-program-xyz', '--flag'], timeout: 1_000 }).check()).rejects.toThrow(
      'command: gameday-no-such-program-xyz --flag: gameday-no-such-program-xyz not found on PATH (or not executable)',
    );
  });

  it('run() runs the argv (no shell) and resolves once it exited 0', async () => {
    const marker = join(root, 'ran');
    const step = commandStep({
      run: [node, '-e', "require('fs').writeFileSync(process.argv[1], process.argv[2])", marker, '$(x); *'],
      timeout: 10_000,
    });
    await expect(step.run()).resolves.toBeUndefined();
    expect(readFileSync(marker, 'utf8')).toBe('$(x); *');
  });

  it('run() rejects on a non-zero exit with the exit code and stderr', async () => {
    const step = commandStep({ run: [node, '-e', "console.error('flag service says 503'); process.exit(3)"], timeout: 10_000 });
    await expect(step.run()).rejects.toThrow(/^`.*node -e .*` failed \(exit 3\): flag service says 503$/);
  });

  it('run() rejects when the command outlives its timeout', async () => {
    const step = commandStep({ run: [node, '-e', 'setTimeout(() => {}, 20000)'], timeout: 300 });
    await expect(step.run()).rejects.toThrow('failed (timed out after 300ms)');
  });
});
