// gameday init through the real CLI: every type, with and without --target, gives a file that
// `gameday validate` accepts and that passes the JSON Schema its first line names; an existing file
// is never replaced without --force; bad input writes nothing.
import { existsSync, lstatSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import Ajv from 'ajv';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { INIT_TYPES } from '../../src/commands/init-template.ts';
import { runCli, tempDir } from '../helpers/cli.ts';

const TARGET = 'http://127.0.0.1:8080';

/** The JSON Schema the file's modeline names, resolved from the file's directory as the YAML language server does. */
function schemaOf(file: string): unknown {
  const ref = /^# yaml-language-server: \$schema=(\S+)\n/.exec(readFileSync(file, 'utf8'))?.[1];
  expect(ref, `${file} has no modeline`).toBeDefined();
  return JSON.parse(readFileSync(resolve(dirname(file), ref!), 'utf8'));
}

async function initThenValidate(type: string, target: string | undefined): Promise<void> {
  const dir = tempDir('gameday-init-');
  const file = join(dir, `${type}.yaml`);
  const init = await runCli(['init', file, '--type', type, ...(target ? ['--target', target] : [])], { timeoutMs: 30_000 });
  expect(init.code, init.stderr).toBe(0);
  expect(init.stdout).toContain(`gameday validate ${file}`);
  expect(init.stdout).toContain(`gameday run --experiment ${file}`);
  const validate = await runCli(['validate', file], { timeoutMs: 30_000 });
  expect(validate.code, `${type} ${target ?? 'demo'}: ${validate.stderr}\n${readFileSync(file, 'utf8')}`).toBe(0);
  expect(validate.stdout).toContain(`${type} fault on ${target ?? 'the embedded demo'}`);
  const data = parseYaml(readFileSync(file, 'utf8'));
  const ajv = new Ajv({ allErrors: true });
  expect(ajv.validate(schemaOf(file) as object, data), ajv.errorsText()).toBe(true);
  expect(statSync(file).mode & 0o777).toBe(0o644 & ~process.umask());
}

describe('gameday init', () => {
  for (const type of INIT_TYPES) {
    it(`${type}: init, then validate passes, on the demo and with --target`, async () => {
      await Promise.all([initThenValidate(type, undefined), initThenValidate(type, TARGET)]);
    });
  }

  it('with no FILE writes experiment.yaml in the current directory', async () => {
    const dir = tempDir('gameday-init-');
    const r = await runCli(['init'], { cwd: dir, timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(dir)).toEqual(['experiment.yaml']);
    expect(r.stdout).toContain('gameday validate experiment.yaml');
    expect(readFileSync(join(dir, 'experiment.yaml'), 'utf8')).toMatch(/^ {2}type: latency /m);
    const v = await runCli(['validate', 'experiment.yaml'], { cwd: dir, timeoutMs: 30_000 });
    expect(v.code, v.stderr).toBe(0);
  });

  it('never replaces a file without --force; --force does, atomically, and not through a symlink', async () => {
    const dir = tempDir('gameday-init-');
    const file = join(dir, 'mine.yaml');
    writeFileSync(file, 'my own work\n');
    const refused = await runCli(['init', file], { timeoutMs: 30_000 });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`${file} exists; not overwritten`);
    expect(refused.stderr).toContain('--force');
    expect(readFileSync(file, 'utf8')).toBe('my own work\n');

    const forced = await runCli(['init', file, '--force', '--type', 'errors'], { timeoutMs: 30_000 });
    expect(forced.code, forced.stderr).toBe(0);
    expect(readFileSync(file, 'utf8')).toMatch(/^ {2}type: errors /m);
    expect(readdirSync(dir)).toEqual(['mine.yaml']); // no temp file left behind

    // a symlink is replaced by the new file; what it pointed at is left alone
    const other = join(dir, 'other.txt');
    writeFileSync(other, 'not yours\n');
    const link = join(dir, 'link.yaml');
    symlinkSync(other, link);
    expect((await runCli(['init', link], { timeoutMs: 30_000 })).code).toBe(1);
    const viaLink = await runCli(['init', link, '--force'], { timeoutMs: 30_000 });
    expect(viaLink.code, viaLink.stderr).toBe(0);
    expect(lstatSync(link).isSymbolicLink()).toBe(false);
    expect(readFileSync(other, 'utf8')).toBe('not yours\n');
  });

  const bad: [string, string[], RegExp][] = [
    ['an unknown --type', ['--type', 'earthquake'], /--type: unknown type "earthquake"; available: latency, errors/],
    ['a --target that is not http(s)', ['--target', 'ftp://example.com/'], /--target: expected an http:\/\/ or https:\/\/ URL/],
    ['a --target that is not a URL', ['--target', 'localhost:8080'], /--target: expected an http:\/\/ or https:\/\/ URL/],
    ['a --target with port 0', ['--target', 'http://127.0.0.1:0/'], /--target: the port must be 1–65535/],
    ['a --target with credentials', ['--target', 'http://ops:hunter22@127.0.0.1:8080/'], /--target: holds credentials/],
  ];
  for (const [what, args, message] of bad) {
    it(`${what}: exit 1, nothing written (with --force too)`, async () => {
      const dir = tempDir('gameday-init-');
      const r = await runCli(['init', join(dir, 'x.yaml'), '--force', ...args], { cwd: dir, timeoutMs: 30_000 });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toContain('hunter22');
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(readdirSync(dir)).toEqual([]);
    });
  }

  it('a directory that does not exist: exit 1, named', async () => {
    const file = join(tempDir('gameday-init-'), 'no', 'such', 'x.yaml');
    const r = await runCli(['init', file], { timeoutMs: 30_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot write ${file}: its directory does not exist`);
    expect(existsSync(file)).toBe(false);
  });
});
