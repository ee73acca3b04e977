// gameday init [FILE]: a commented experiment file to start from. An existing file is never
// replaced without --force, and then atomically (a reader sees the old file or the new, never half).
import { writeFileSync } from 'node:fs';
import { dirname, join, parse, relative, resolve, sep } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { httpUrl } from '../config/bounds.ts';
import { ConfigError } from '../config/errors.ts';
import { loadConfig } from '../config/load.ts';
import { ROOT_DIR } from '../config/package-root.ts';
import { ExperimentSchema } from '../config/schema.ts';
import { EXIT, type ExitCode } from '../errors/exit-codes.ts';
import { writeFileAtomic } from '../fs/write-atomic.ts';
import { GamedayError } from '../errors/gameday-error.ts';
import { printable } from '../headless/printable.ts';
import { INIT_TYPES, experimentYaml, type InitType } from './init-template.ts';

const DEFAULT_INIT_FILE = 'experiment.yaml';
const SCHEMA_FILE = join(ROOT_DIR, 'config', 'schema.json');

export interface InitOptions {
  type?: string;
  target?: string;
  force?: boolean;
}

function parseType(type: string): InitType {
  if ((INIT_TYPES as readonly string[]).includes(type)) return type as InitType;
  throw new ConfigError([`--type: unknown type "${type}"; available: ${INIT_TYPES.join(', ')}`]);
}

/** The --target URL as the file will hold it; credentials refused: the file is meant to be shared. */
function parseTarget(text: string): string {
  const parsed = httpUrl.safeParse(text);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => `--target: ${i.message}`));
  const url = new URL(text);
  if (url.username || url.password)
    throw new ConfigError(['--target: holds credentials; init writes none into a file (put them in target.url yourself if you must)']);
  return text.replace(/\/+$/, '');
}

/**
 * The modeline's path to the schema: relative to the file when the two share a directory other
 * than the root (a project with gameday in node_modules, or this repository), else absolute.
 */
export function schemaRefFor(file: string, schemaFile = SCHEMA_FILE): string {
  const rel = relative(dirname(file), schemaFile);
  const [fileTop, schemaTop] = [file, schemaFile].map((p) => p.split(sep).filter(Boolean)[0]);
  return fileTop === schemaTop ? rel.split(sep).join('/') : schemaFile;
}

/** The experiment's name: the file's, unless that says nothing ("experiment"). */
function nameFor(file: string, type: InitType): string {
  const stem = parse(file).name;
  return /^[A-Za-z0-9][A-Za-z0-9._-]{0,119}$/.test(stem) && stem !== 'experiment' ? stem : `${type}-experiment`;
}

function writeProblem(err: unknown, shown: string): GamedayError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EEXIST') return new GamedayError(`${shown} exists; not overwritten`, { hint: 'give --force to replace it' });
  const why = code === 'ENOENT' ? 'its directory does not exist' : code === 'EISDIR' ? 'a directory' : (code ?? (err as Error).message);
  return new GamedayError(`cannot write ${shown}: ${why}`);
}

/** New files only (`wx`: no check-then-write race); with force, written whole over the old one (a link is replaced, not followed). */
function writeExperiment(path: string, text: string, force: boolean, shown: string): void {
  try {
    if (force) writeFileAtomic(path, text, 0o644);
    else writeFileSync(path, text, { flag: 'wx', mode: 0o644 });
  } catch (err) {
    throw writeProblem(err, shown);
  }
}

/** A path as a shell command line needs it: quoted when it holds anything but plain characters. */
const shellWord = (text: string): string => (/^[A-Za-z0-9_./:=@%+-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`);

export async function initCommand(
  file: string | undefined,
  opts: InitOptions,
  out: NodeJS.WritableStream = process.stdout,
  cwd = process.cwd(),
): Promise<ExitCode> {
  const type = parseType(opts.type ?? 'latency');
  const targetUrl = opts.target === undefined ? undefined : parseTarget(opts.target);
  const given = file ?? DEFAULT_INIT_FILE;
  const path = resolve(cwd, given);
  // the built-in defaults, for the comments: not this shell's GAMEDAY_* variables
  const text = experimentYaml({ type, targetUrl, name: nameFor(path, type), schemaRef: schemaRefFor(path) }, loadConfig({ env: {} }));
  // a template that gameday itself would refuse is a bug here, not a file for the user to debug
  const parsed = ExperimentSchema.safeParse(parseYaml(text));
  if (!parsed.success) throw new Error(`init: the generated ${type} experiment does not parse: ${parsed.error.message}`);
  writeExperiment(path, text, Boolean(opts.force), given);
  // each piece of echoed input shown on its own: a newline in a file name cannot forge a line
  const arg = printable(shellWord(given));
  const on = targetUrl === undefined ? 'the embedded demo' : printable(targetUrl);
  out.write(
    [
      `wrote ${printable(given)}: ${type} fault on ${on}`,
      'next:',
      `  gameday validate ${arg}`,
      `  gameday run --experiment ${arg}`,
      '',
    ].join('\n'),
  );
  return EXIT.ok;
}
