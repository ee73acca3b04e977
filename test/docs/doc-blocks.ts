// The doc-test marker: which fenced blocks of README.md and docs/*.md `npm test` runs, and what each
// must do. A block is marked in its info string, which GitHub does not render:
//
//   ```sh doctest                 run with bash -euo pipefail; must exit 0
//   ```sh doctest exit=3          must exit 3 (a breach run)
//   ```sh doctest needs=promtool  fails, naming the program, when it is not installed
//   ```sh doctest timeout=90      seconds before it is killed (default 60)
//   ```yaml doctest               an experiment: `gameday validate` must pass (exit=1: must be refused)
//   ```yaml doctest file=x.yaml   written to x.yaml in the working dir too, for later blocks
//   ```yaml doctest config        a config file: validated as `--config` of a template experiment
//
// Pure: text in, blocks out. A marker it cannot read is an error, never a block quietly not run.

export interface DocBlock {
  /** the markdown file, as given (relative to the repo root) */
  file: string;
  /** 1-based line of the opening fence */
  line: number;
  kind: 'sh' | 'yaml';
  body: string;
  /** the exit code the block must end with */
  exit: number;
  /** sh: programs that must be installed */
  needs: string[];
  timeoutMs: number;
  /** yaml: the name it is written under in the working dir (null: a name of the runner's) */
  saveAs: string | null;
  /** yaml: a config file rather than an experiment */
  config: boolean;
}

export const DEFAULT_TIMEOUT_MS = 60_000;

const SHELLS = new Set(['sh', 'bash', 'shell']);
const YAMLS = new Set(['yaml', 'yml']);

export class DocBlockError extends Error {}

interface Fence {
  indent: number;
  char: string;
  length: number;
  info: string;
}

/** A fence opening or closing line (CommonMark: up to 3 spaces of indent; lists indent further, so any is taken). */
function fenceOf(line: string): Fence | null {
  const m = /^( *)(`{3,}|~{3,})(.*)$/.exec(line);
  if (!m) return null;
  const info = m[3].trim();
  // a backtick fence's info string may not hold a backtick
  if (m[2][0] === '`' && info.includes('`')) return null;
  return { indent: m[1].length, char: m[2][0], length: m[2].length, info };
}

function closes(line: string, open: Fence): boolean {
  const f = fenceOf(line);
  return f !== null && f.char === open.char && f.length >= open.length && f.info === '';
}

function wholeNumber(value: string, what: string, where: string): number {
  if (!/^\d+$/.test(value)) throw new DocBlockError(`${where}: ${what} must be a whole number, got "${value}"`);
  return Number(value);
}

type Options = Omit<DocBlock, 'file' | 'line' | 'kind' | 'body'>;

function applyOption(opts: Options, kind: DocBlock['kind'], token: string, where: string): void {
  const [key, value] = token.includes('=') ? [token.slice(0, token.indexOf('=')), token.slice(token.indexOf('=') + 1)] : [token, null];
  if (key === 'exit' && value !== null) opts.exit = wholeNumber(value, 'exit', where);
  else if (key === 'timeout' && value !== null) opts.timeoutMs = wholeNumber(value, 'timeout', where) * 1000;
  else if (key === 'needs' && value !== null && kind === 'sh') opts.needs = value.split(',').filter(Boolean);
  else if (key === 'file' && value !== null && kind === 'yaml') {
    if (!/^[\w.-]+$/.test(value) || value.startsWith('.'))
      throw new DocBlockError(`${where}: file= takes a plain file name, got "${value}"`);
    opts.saveAs = value;
  } else if (key === 'config' && value === null && kind === 'yaml') opts.config = true;
  else throw new DocBlockError(`${where}: unknown doctest option "${token}" for a ${kind} block`);
}

/** The block's options from its info string, or null when it is not marked. */
function readMarker(info: string, where: string): (Options & { kind: DocBlock['kind'] }) | null {
  const [lang = '', ...tokens] = info.split(/\s+/);
  const markers = tokens.filter((t) => /^doc-?test/i.test(t));
  if (markers.length === 0) return null;
  if (markers.some((t) => t !== 'doctest') || tokens[0] !== 'doctest')
    throw new DocBlockError(`${where}: write the marker as \`${lang} doctest [options]\`, got \`${info}\``);
  const kind = SHELLS.has(lang) ? 'sh' : YAMLS.has(lang) ? 'yaml' : null;
  if (!kind) throw new DocBlockError(`${where}: doctest runs sh and yaml blocks, not "${lang}"`);
  const opts: Options = { exit: 0, needs: [], timeoutMs: DEFAULT_TIMEOUT_MS, saveAs: null, config: false };
  for (const token of tokens.slice(1)) applyOption(opts, kind, token, where);
  return { kind, ...opts };
}

/** Every marked block of one markdown file, in order. */
export function parseDocBlocks(markdown: string, file: string): DocBlock[] {
  const lines = markdown.split(/\r?\n/);
  const blocks: DocBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = fenceOf(lines[i]);
    if (!open) continue;
    const where = `${file}:${i + 1}`;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !closes(lines[j], open); j++) body.push(lines[j]);
    if (j === lines.length) throw new DocBlockError(`${where}: the code block is never closed`);
    const marker = readMarker(open.info, where);
    if (marker) {
      // a block in a list is indented with its fence: take that indent off its lines
      const text = body.map((l) => l.replace(new RegExp(`^ {0,${open.indent}}`), '')).join('\n');
      if (text.trim() === '') throw new DocBlockError(`${where}: a doctest block with nothing in it`);
      blocks.push({ file, line: i + 1, body: text + '\n', ...marker });
    }
    i = j;
  }
  return blocks;
}
