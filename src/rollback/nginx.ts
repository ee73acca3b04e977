// Traffic shift through nginx: gameday owns one include file the user names, holding one upstream
// block. The shift rewrites it with the new servers, tests the whole config (nginx -t) and reloads;
// the previous content goes into the undo record so that the shift can be put back from another
// process. At no point is a config that fails nginx -t left behind when one that passes is at hand.
import { randomBytes } from 'node:crypto';
import { accessSync, constants, lstatSync, statSync } from 'node:fs';
import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { NginxShiftSpec } from '../config/schema.ts';
import { describeFailure, runCommand, type CommandResult } from '../faults/command-driver.ts';
import type { RollbackAction, UndoRecord } from './action.ts';
import { findProgram } from './program.ts';

type NginxUndo = Extract<UndoRecord, { kind: 'nginx' }>;

const TAIL_CHARS = 500;

export function nginxShift(spec: NginxShiftSpec): RollbackAction {
  const servers = [...spec.servers];
  // the schema already allows none of these; a spec built in code must not smuggle in directives
  if (/[^A-Za-z0-9._:-]/.test(spec.upstream) || servers.some((s) => /[;{}#'"\\$\r\n]/.test(s))) {
    throw new Error(`traffic-shift nginx: upstream ${JSON.stringify(spec.upstream)} or one of its servers holds nginx syntax`);
  }
  // the file before the first run(): a retry must not take gameday's own file for the original
  let before: NginxUndo | null = null;
  const prepared = async () => (before ??= await prepareShift(spec));
  return {
    name: `traffic-shift nginx ${spec.upstream}: ${servers.join(', ')}`,
    check: () => checkShift(spec),
    prepare: prepared,
    run: async () => runShift({ ...spec, servers }, await prepared()),
  };
}

/** The file gameday writes: one comment line, then the upstream block and nothing else. */
function renderUpstream(upstream: string, servers: string[]): string {
  const lines = servers.map((s) => `    server ${s};\n`).join('');
  return `# written by gameday at ${new Date().toISOString()} for a traffic shift; the run puts the previous file back\nupstream ${upstream} {\n${lines}}\n`;
}

/** The last of stderr on one line (nginx -t reports over several), or why the command did not exit. */
function tail(r: CommandResult): string {
  const err = r.stderr.trim().replace(/\s*\n\s*/g, ' | ');
  return err ? err.slice(-TAIL_CHARS) : (r.failure ?? `exit ${r.exitCode}`);
}

async function readPrevious(file: string): Promise<string | null> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const text = bytes.toString('utf8');
  // the undo record holds a string: content that does not survive that could not be put back as it was
  if (!Buffer.from(text, 'utf8').equals(bytes)) throw new Error(`${file} is not UTF-8 text: gameday could not put it back byte for byte`);
  return text;
}

/**
 * Replaces `file` with `content` so that nginx (or a crash) sees the old file or the new one, never
 * half of one: a temp file beside it (same file system, so rename is atomic), synced, renamed over.
 * The temp name ends in .tmp so that an `include *.conf` never picks it up meanwhile.
 */
async function writeAtomically(file: string, content: string | Buffer): Promise<void> {
  const old = await stat(file).catch(() => null);
  const mode = old ? old.mode & 0o7777 : 0o644;
  const temp = join(dirname(file), `.${basename(file)}.gameday-${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  const fh = await open(temp, 'wx', mode); // wx: a path someone planted (a symlink) is never followed
  try {
    await fh.writeFile(content);
    await fh.chmod(mode); // open's mode went through the umask
    if (old && process.getuid?.() === 0) await fh.chown(old.uid, old.gid).catch(() => {}); // root must not take the user's file over
    await fh.sync(); // complete on disk before it has the name
    await fh.close();
    await rename(temp, file);
  } catch (err) {
    await fh.close().catch(() => {});
    await rm(temp, { force: true });
    throw err;
  }
  await syncDir(dirname(file));
}

/** The rename itself survives a power cut only once the directory is synced; best effort. */
async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r').catch(() => null);
  await fh?.sync().catch(() => {});
  await fh?.close();
}

/** `content`, or no file at all when it is null. */
async function putBack(file: string, content: string | Buffer | null): Promise<void> {
  if (content === null) await rm(file, { force: true });
  else await writeAtomically(file, content);
}

/** The file as it is now: what undo puts back. */
async function prepareShift(spec: NginxShiftSpec): Promise<NginxUndo> {
  return {
    kind: 'nginx',
    upstreamFile: spec.upstreamFile,
    previous: await readPrevious(spec.upstreamFile),
    test: [...spec.test],
    reload: [...spec.reload],
    timeoutMs: spec.timeout,
  };
}

async function runShift(spec: NginxShiftSpec, record: NginxUndo): Promise<void> {
  const file = spec.upstreamFile;
  const opts = { timeoutMs: spec.timeout };
  const { previous } = record;
  await writeAtomically(file, renderUpstream(spec.upstream, spec.servers));
  const tested = await runCommand(spec.test, opts);
  if (tested.exitCode !== 0) {
    await restoreOrSay(file, previous, `nginx -t failed (${tail(tested)})`);
    throw new Error(`nginx -t failed, the previous ${file} is restored: ${tail(tested)}`);
  }
  const reloaded = await runCommand(spec.reload, opts);
  if (reloaded.exitCode !== 0) {
    await restoreOrSay(file, previous, `reload failed (${describeFailure(spec.reload, reloaded)})`);
    // the reload may have half happened (a signal sent, then the exit code lost): make nginx run the previous file again
    const again = await runCommand(spec.test, opts);
    if (again.exitCode === 0) await runCommand(spec.reload, opts);
    throw new Error(`nginx reload failed, the previous ${file} is restored: ${describeFailure(spec.reload, reloaded)}`);
  }
}

/** Puts `previous` back after a failed shift; when even that fails, says that the shifted file is still there. */
async function restoreOrSay(file: string, previous: string | null, why: string): Promise<void> {
  try {
    await putBack(file, previous);
  } catch (err) {
    throw new Error(
      `${why}, and the previous ${file} could NOT be put back (${(err as Error).message}): it holds gameday's rejected upstream, fix it by hand`,
      { cause: err },
    );
  }
}

/**
 * Puts the file back as it was before the shift, tests and reloads. Idempotent: run again (by a
 * watchdog after a controller that died mid-undo), it finds the previous content in place and
 * tests and reloads once more. When the previous content fails nginx -t now (the
 * rest of the config changed meanwhile), it is not left in place: what was found goes back, so that
 * the next reload or restart of nginx still works, and the error says so.
 */
export async function undoNginx(record: NginxUndo): Promise<void> {
  const file = record.upstreamFile;
  const opts = { timeoutMs: record.timeoutMs };
  // as bytes: what is found goes back exactly as it was if the previous content fails the test
  const found = await readFile(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  const unchanged = found === null ? record.previous === null : record.previous !== null && found.equals(Buffer.from(record.previous));
  if (!unchanged) await putBack(file, record.previous);
  const tested = await runCommand(record.test, opts);
  if (tested.exitCode !== 0) {
    if (unchanged) {
      throw new Error(
        `undo: nginx -t FAILS with the previous ${file} back in place; nginx's config is broken, fix it by hand: ${tail(tested)}`,
      );
    }
    await putBack(file, found);
    const again = await runCommand(record.test, opts);
    const state =
      again.exitCode === 0
        ? `gameday put back what it found (the shifted upstream, which nginx -t accepts), so traffic still goes where the shift sent it`
        : `what gameday found fails nginx -t too, so nginx's config is BROKEN either way (left as gameday found it): ${tail(again)}`;
    throw new Error(
      `undo NOT done: nginx -t FAILS with the previous ${file} (${tail(tested)}); ${state}; fix the config by hand, then reload nginx`,
    );
  }
  const reloaded = await runCommand(record.reload, opts);
  if (reloaded.exitCode !== 0) throw new Error(`undo: the previous ${file} is back, but ${describeFailure(record.reload, reloaded)}`);
}

/** Proves the shift can run now; every message one line, naming the file. */
async function checkShift(spec: NginxShiftSpec): Promise<void> {
  const file = spec.upstreamFile;
  const dir = dirname(file);
  const fail = (why: string): never => {
    throw new Error(`traffic-shift nginx ${file}: ${why}`);
  };
  const dirStat = statOrNull(dir);
  if (!dirStat) fail(`its directory ${dir} does not exist`);
  if (!dirStat?.isDirectory()) fail(`${dir} is not a directory`);
  if (!canWrite(dir)) fail(`its directory ${dir} is not writable (the new file is written beside it, then renamed over it)`);
  const fileStat = lstatOrNull(file);
  if (fileStat?.isSymbolicLink()) fail('is a symbolic link: name the file it points to (the shift replaces the file, not its target)');
  if (fileStat && !fileStat.isFile()) fail('exists and is not a regular file');
  if (fileStat && !canWrite(file)) fail('is not writable');
  if (fileStat) await readPrevious(file).catch((err: Error) => fail(err.message));
  const program = spec.test[0];
  if (findProgram(program) === null) fail(`the test command's program ${program} is not found${program.includes('/') ? '' : ' on PATH'}`);
  const tested = await runCommand(spec.test, { timeoutMs: spec.timeout });
  if (tested.exitCode !== 0)
    fail(`nginx's config fails its test already, before any fault: ${describeFailure(spec.test, tested).replace(/\s*\n\s*/g, ' | ')}`);
}

function statOrNull(path: string): ReturnType<typeof statSync> | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

function lstatOrNull(path: string): ReturnType<typeof lstatSync> | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

function canWrite(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
