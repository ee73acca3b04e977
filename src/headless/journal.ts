// The journal: one file per experiment, for `gameday report` and the post-mortem. NDJSON, append-only:
// a header line (version, experiment, start time, the resolved plan), then each event as it happens,
// the summary last. Streamed to disk (a long run holds nothing in memory) and one whole line per
// write, so a controller killed mid-run leaves a journal whose every whole line is readable.
import {
  accessSync,
  chmodSync,
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readSync,
  realpathSync,
  statSync,
  unlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { open } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import type { z } from 'zod';
import { LEDGER_FILE } from '../budget/sqlite-ledger.ts';
import type { GamedayEvent, Summary } from '../engine/events.ts';
import { ConfigError, formatIssues } from '../config/errors.ts';
import { EventSchema, HeaderV2Schema, JournalV1Schema } from './journal-schema.ts';
import { redactedJson } from './redact.ts';

export const JOURNAL_VERSION = 2;
/** `report` refuses a bigger journal (about 30 h of ticks at 4 a second). */
export const JOURNAL_MAX_BYTES = 256 * 1024 * 1024;
/** A version-1 journal is one JSON document, parsed whole: its limit is lower. */
const JOURNAL_V1_MAX_BYTES = 64 * 1024 * 1024;
/** The longest line `report` reads; strings are clipped on writing so that no event comes near it. */
const JOURNAL_MAX_LINE_BYTES = 4 * 1024 * 1024;
const MAX_STRING_CHARS = 64 * 1024;
/** Events other than ticks `report` keeps (a real run has tens); more are counted, not kept. */
const MAX_KEPT_EVENTS = 10_000;
const HEADER_TAG = '{"journal":"gameday","version":';
const V1_START = /^\{\s*"version":\s*1\s*,\s*"experimentId"/;

export interface JournalHead {
  experimentId: string;
  name: string;
  startedAt: string;
  plan: Record<string, unknown>;
}

export interface Journal extends JournalHead {
  version: number;
  /**
   * As read by readJournal: every event but the ticks, in order, with the worst tick (highest impact)
   * in its place. That is all a report needs, and it keeps a long run's journal small in memory.
   */
  events: GamedayEvent[];
  /** null: the run did not finish (its controller died, or journaling stopped) */
  summary: Summary | null;
  /** events past MAX_KEPT_EVENTS, counted but not kept */
  omittedEvents?: number;
  /** the last line was cut short (the controller died while writing it) and was left out */
  tornLastLine?: boolean;
}

export function defaultJournalPath(stateDir: string, experimentId: string): string {
  return join(stateDir, 'journals', `${experimentId}.json`);
}

// ---- checking the path before anything is spent ----

/**
 * The path as the kernel will resolve it. Node's realpath normalises `..` lexically first
 * (`link/../x` is not `x` when link is a symlink); the native one does not. A missing tail is
 * resolved from its deepest existing ancestor.
 */
function realish(path: string): string {
  const tail: string[] = [];
  let head = isAbsolute(path) ? path : `${process.cwd()}/${path}`;
  for (;;) {
    try {
      return join(realpathSync.native(head), ...tail);
    } catch {
      const parent = dirname(head);
      if (parent === head) return resolve(path);
      tail.unshift(basename(head));
      head = parent;
    }
  }
}

function ledgerFiles(stateDir: string): string[] {
  const ledger = join(stateDir, LEDGER_FILE);
  return [ledger, `${ledger}-wal`, `${ledger}-shm`, `${ledger}-journal`];
}

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

/** Whether `st` is one of the ledger's files: by inode, so a hard link cannot pass either. */
function isLedgerFile(st: Stats, stateDir: string): boolean {
  return ledgerFiles(stateDir).some((f) => {
    const l = statOrNull(f);
    return l !== null && l.dev === st.dev && l.ino === st.ino;
  });
}

function looksLikeJournal(head: Buffer): boolean {
  const text = head.toString('utf8');
  return text.startsWith(HEADER_TAG) || V1_START.test(text);
}

function describeHead(head: Buffer): string {
  return head.subarray(0, 16).toString('latin1') === 'SQLite format 3\0' ? 'an SQLite database' : 'not a gameday journal';
}

function readHeadFd(fd: number): Buffer {
  const buf = Buffer.alloc(64);
  const n = readSync(fd, buf, 0, buf.length, 0);
  return buf.subarray(0, n);
}

const errText = (err: unknown) => {
  const e = err as NodeJS.ErrnoException;
  return e.code ? `${e.code}: ${e.message.replace(/^[A-Z]+: /, '')}` : String(e.message ?? err);
};

function fileProblem(path: string, stateDir: string): string | null {
  const real = realish(path);
  if (ledgerFiles(stateDir).some((f) => realish(f) === real)) {
    const via = real === resolve(path) ? '' : ` (${real})`;
    return `${path}${via} is the ledger of ${stateDir}: writing the journal there would destroy the budget; pick another file`;
  }
  let st: Stats | null = null;
  try {
    st = statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') return `${path} cannot be used (${errText(err)})`;
  }
  if (st) {
    if (st.isDirectory()) return `${path} is a directory; give a file path`;
    if (!st.isFile()) return `${path} is not a regular file`;
    if (isLedgerFile(st, stateDir)) return `${path} is the ledger of ${stateDir} (a link to it); pick another file`;
    let fd: number | undefined;
    try {
      // O_RDWR without O_TRUNC: proves it writable and changes nothing
      fd = openSync(path, constants.O_RDWR);
      if (st.size > 0) {
        const head = readHeadFd(fd);
        if (!looksLikeJournal(head))
          return `${path} exists and is ${describeHead(head)}: refusing to overwrite it; remove it or pick another file`;
      }
    } catch (err) {
      return `${path} is not writable (${errText(err)})`;
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    return null;
  }
  const dir = dirname(path);
  const d = statOrNull(dir);
  if (!d) return `the directory of ${path} does not exist`;
  if (!d.isDirectory()) return `${dir} is not a directory`;
  try {
    // Creating it is the only sure test; it is removed at once and made again when the run starts.
    closeSync(openSync(path, 'wx', 0o600));
    unlinkSync(path);
  } catch (err) {
    return `${path} cannot be created (${errText(err)})`;
  }
  return null;
}

/** The default journals directory: usable if it is a writable directory, or can be made one. */
function defaultDirProblem(dir: string): string | null {
  let at = dir;
  for (;;) {
    const st = statOrNull(at);
    if (st) {
      if (!st.isDirectory()) return `the journal directory ${dir} cannot be created: ${at} is not a directory; pass --journal FILE`;
      try {
        accessSync(at, constants.W_OK | constants.X_OK);
      } catch {
        return `the journal directory ${dir} cannot be ${at === dir ? 'written' : 'created'}: ${at} is not writable; pass --journal FILE`;
      }
      return null;
    }
    const parent = dirname(at);
    if (parent === at) return `the journal directory ${dir} cannot be created; pass --journal FILE`;
    at = parent;
  }
}

/**
 * Checks where the journal will go, before the ledger is opened or anything spent (exit 1 on a
 * problem): writable, a regular file or none yet, not the ledger or its -wal/-shm (by real path and by
 * inode), not some other file that would be overwritten. `flag` undefined: the default directory.
 * Creates nothing that stays.
 */
export function checkJournalPath(flag: string | undefined, stateDir: string): void {
  const problem = flag === undefined ? defaultDirProblem(join(stateDir, 'journals')) : fileProblem(flag, stateDir);
  if (problem) throw new ConfigError([problem], '--journal');
}

// ---- writing ----

/**
 * Writes a journal as the run goes. It never throws: a run must not fail because its journal cannot
 * be written. The first failure stops journaling; `problem` then says what happened, and the
 * journal on disk (if any) keeps the whole lines written until then.
 */
export class JournalWriter {
  private fd: number | null = null;
  private failure: string | null = null;
  private finished = false;
  private readonly redactClip: (text: string) => string;

  private constructor(
    readonly path: string,
    redact: (text: string) => string,
  ) {
    // clipped after redaction, so a secret is never cut into a part the redactor misses
    this.redactClip = (text) => {
      const r = redact(text);
      return r.length > MAX_STRING_CHARS ? `${r.slice(0, MAX_STRING_CHARS)}… (${r.length - MAX_STRING_CHARS} more characters)` : r;
    };
  }

  /**
   * Opens (or creates, 0600) the journal and writes its header. `stateDir`: refuse the ledger's files
   * again by inode (the path was checked at load; this closes the gap since). `createDir`: make the
   * directory (0700) if missing, for the default `<state-dir>/journals/`.
   */
  static open(
    path: string,
    head: JournalHead,
    redact: (text: string) => string,
    opts: { stateDir?: string; createDir?: boolean } = {},
  ): JournalWriter {
    const w = new JournalWriter(path, redact);
    try {
      if (opts.createDir) {
        const dir = dirname(path);
        if (!statOrNull(dir)) {
          mkdirSync(dir, { recursive: true, mode: 0o700 });
          chmodSync(dir, 0o700); // mkdir's mode is subject to the umask
        }
      }
      w.fd = openSync(path, constants.O_RDWR | constants.O_APPEND | constants.O_CREAT, 0o600);
      const st = fstatSync(w.fd);
      if (!st.isFile()) throw new Error('it is not a regular file');
      if (opts.stateDir && isLedgerFile(st, opts.stateDir)) throw new Error('it is the ledger');
      if (st.size > 0 && !looksLikeJournal(readHeadFd(w.fd))) throw new Error('it is not a gameday journal; left as it was');
      ftruncateSync(w.fd, 0);
      fchmodSync(w.fd, 0o600); // an existing file keeps its mode through open(): make it private
    } catch (err) {
      w.fail(`could not be opened (${errText(err)})`);
      return w;
    }
    const tagged = redactedJson({ ...head }, w.redactClip);
    w.append(`${HEADER_TAG}${JOURNAL_VERSION},${tagged.slice(1)}`);
    return w;
  }

  /** Why the journal is not whole, or null. Set at the first failure; nothing is written after it. */
  get problem(): string | null {
    return this.failure;
  }

  /** The summary is written, synced and still at `path`: the journal is whole. */
  get complete(): boolean {
    return this.finished && this.failure === null;
  }

  record = (event: GamedayEvent): void => {
    if (this.fd === null) return;
    this.append(redactedJson(event, this.redactClip));
    if (event.type === 'summary') this.finish();
  };

  /** Ends journaling without a summary (the run did not finish); the file stays readable. */
  close(): void {
    if (this.fd === null) return;
    try {
      closeSync(this.fd);
    } catch {
      // nothing more will be written either way
    }
    this.fd = null;
  }

  private append(line: string): void {
    if (this.fd === null) return;
    try {
      const buf = Buffer.from(line + '\n', 'utf8');
      if (buf.length > JOURNAL_MAX_LINE_BYTES) throw new Error(`an event of ${buf.length} bytes is over the line limit`);
      // One line per call, so a crash tears at most the last line; loop for a short write.
      for (let off = 0; off < buf.length;) off += writeSync(this.fd, buf, off);
    } catch (err) {
      this.fail(`is incomplete: writing it failed (${errText(err)}); it stops there`);
    }
  }

  private finish(): void {
    if (this.fd === null) return;
    try {
      fsyncSync(this.fd); // a full disk may only say so now (NFS, some quotas)
      const mine = fstatSync(this.fd);
      const there = statOrNull(this.path);
      if (mine.nlink === 0 || !there || there.dev !== mine.dev || there.ino !== mine.ino) {
        this.fail('was removed or replaced during the run: there is no whole journal');
        return;
      }
      this.finished = true;
    } catch (err) {
      this.fail(`is incomplete: writing it failed (${errText(err)})`);
      return;
    }
    this.close();
  }

  private fail(problem: string): void {
    this.failure ??= `journal ${this.path} ${problem}`;
    this.close();
  }
}

// ---- reading ----

type Problem = string;
type TickEvent = Extract<GamedayEvent, { type: 'tick' }>;
const refuse = (path: string, ...problems: Problem[]) => new ConfigError(problems, path);
const MiB = (n: number) => `${n / 1024 / 1024} MiB`;

/**
 * Reads a journal (version 2, or 1 as older gamedays wrote it) for a report. Streams it line by line
 * with bounded lines and total size, so `report /dev/zero` or a huge file fails fast instead of
 * growing; validates every line (exit 1 by field path, through ConfigError). A torn last line, from a
 * controller killed mid-write, is left out.
 */
export async function readJournal(path: string, opts: { allEvents?: boolean; onTick?: (tick: TickEvent) => void } = {}): Promise<Journal> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw refuse(path, code === 'ENOENT' ? 'file not found' : `cannot read (${errText(err)})`);
  }
  try {
    const st = await fh.stat();
    if (st.isDirectory()) throw refuse(path, 'is a directory, not a journal');
    if (st.isFile() && st.size > JOURNAL_MAX_BYTES)
      throw refuse(path, `${st.size} bytes: over the journal size limit of ${MiB(JOURNAL_MAX_BYTES)}`);
    const reader = new JournalReader(path, opts.allEvents ?? false, opts.onTick);
    const buf = Buffer.allocUnsafe(64 * 1024);
    let total = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    for (;;) {
      let n: number;
      try {
        ({ bytesRead: n } = await fh.read(buf, 0, buf.length, null));
      } catch (err) {
        throw refuse(path, `cannot read (${errText(err)})`);
      }
      if (n === 0) break;
      total += n;
      // not a regular file (a pipe, /dev/zero): the size is known only by reading
      if (total > JOURNAL_MAX_BYTES) throw refuse(path, `over the journal size limit of ${MiB(JOURNAL_MAX_BYTES)}`);
      let start = 0;
      for (;;) {
        const nl = buf.indexOf(10, start);
        if (nl === -1 || nl >= n) break;
        const part = buf.subarray(start, nl);
        const line = pendingBytes ? Buffer.concat([...pending, part]) : part;
        pending = [];
        pendingBytes = 0;
        if (line.length > JOURNAL_MAX_LINE_BYTES) throw reader.lineTooLong();
        reader.line(line.toString('utf8'), true);
        start = nl + 1;
      }
      if (start < n) {
        pending.push(Buffer.from(buf.subarray(start, n)));
        pendingBytes += n - start;
        if (pendingBytes > JOURNAL_MAX_LINE_BYTES) throw reader.lineTooLong();
      }
    }
    if (pendingBytes) reader.line(Buffer.concat(pending).toString('utf8'), false);
    return reader.result();
  } finally {
    await fh.close();
  }
}

/** Takes the lines one by one; keeps what a report needs. */
class JournalReader {
  private lineNo = 0;
  private mode: 'start' | 'v2' | 'v1-one-line' | 'v1' = 'start';
  private head: (JournalHead & { version: number }) | null = null;
  private readonly kept: GamedayEvent[] = [];
  private worst: { event: GamedayEvent & { type: 'tick' }; at: number } | null = null;
  private summary: Summary | null = null;
  private eventCount = 0;
  private omitted = 0;
  private torn = false;
  private v1Text: string[] = [];
  private v1Bytes = 0;

  constructor(
    private readonly path: string,
    /** every event, in order (to rebuild the faces' state), instead of what a report needs */
    private readonly allEvents: boolean,
    /** sees every tick, in order, as it is read (the HTML report's charts), kept or not */
    private readonly onTick?: (tick: TickEvent) => void,
  ) {}

  lineTooLong(): ConfigError {
    return refuse(this.path, `line ${this.lineNo + 1}: longer than ${MiB(JOURNAL_MAX_LINE_BYTES)}; not a gameday journal`);
  }

  line(text: string, whole: boolean): void {
    this.lineNo++;
    if (this.mode === 'v1') {
      this.v1Bytes += text.length + 1;
      if (this.v1Bytes > JOURNAL_V1_MAX_BYTES)
        throw refuse(this.path, `a version-1 journal over ${MiB(JOURNAL_V1_MAX_BYTES)}: too big to read`);
      this.v1Text.push(text);
      return;
    }
    if (!text.trim()) return;
    if (this.mode === 'v1-one-line') throw refuse(this.path, `line ${this.lineNo}: more after a version-1 journal`);
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      if (this.mode === 'start') {
        // gameday 1 wrote one indented JSON document: its first line is "{"
        if (whole && text.trim() === '{') {
          this.mode = 'v1';
          this.v1Text.push(text);
          this.v1Bytes = text.length + 1;
          return;
        }
        throw refuse(
          this.path,
          whole
            ? 'not a gameday journal (line 1 is not JSON)'
            : 'the header line is cut short: the run was killed as it started, or this is not a journal',
        );
      }
      if (!whole) {
        this.torn = true;
        return;
      }
      throw refuse(this.path, `line ${this.lineNo}: not JSON`);
    }
    if (this.mode === 'start') return this.start(data);
    this.event(data);
  }

  private start(data: unknown): void {
    const o = (typeof data === 'object' && data !== null ? data : {}) as Record<string, unknown>;
    if (o.journal === 'gameday') {
      const parsed = HeaderV2Schema.safeParse(data);
      if (!parsed.success) {
        if (o.version !== JOURNAL_VERSION)
          throw refuse(this.path, `journal version ${JSON.stringify(o.version)}: this gameday reads versions 1 and ${JOURNAL_VERSION}`);
        throw refuse(this.path, ...formatIssues(parsed.error.issues, ['header']).map((p) => `${p} (line 1)`));
      }
      const { journal: _tag, ...head } = parsed.data;
      this.head = head;
      this.mode = 'v2';
      return;
    }
    if (o.version === 1) {
      this.mode = 'v1-one-line';
      this.v1(data);
      return;
    }
    throw refuse(this.path, 'not a gameday journal (no journal header on line 1)');
  }

  private v1(data: unknown): void {
    const parsed = JournalV1Schema.safeParse(data);
    if (!parsed.success) throw refuse(this.path, ...firstIssues(parsed.error.issues));
    const { events, summary, ...head } = parsed.data;
    this.head = head;
    for (const e of events) this.keep(e);
    this.summary = summary;
  }

  private event(data: unknown): void {
    if (this.summary) throw refuse(this.path, `line ${this.lineNo}: an event after the summary`);
    const parsed = EventSchema.safeParse(data);
    if (!parsed.success) {
      throw refuse(this.path, ...firstIssues(parsed.error.issues, ['events', this.eventCount]).map((p) => `${p} (line ${this.lineNo})`));
    }
    this.eventCount++;
    const e = parsed.data;
    this.keep(e);
    if (e.type === 'summary') {
      const { type: _t, ts: _ts, ...summary } = e;
      this.summary = summary;
    }
  }

  private keep(e: GamedayEvent): void {
    if (e.type === 'tick') this.onTick?.(e);
    if (this.allEvents) {
      this.kept.push(e);
      return;
    }
    if (e.type === 'tick') {
      if (!this.worst || e.impact.score > this.worst.event.impact.score) this.worst = { event: e, at: this.kept.length };
    } else if (this.kept.length < MAX_KEPT_EVENTS || e.type === 'summary') {
      this.kept.push(e);
    } else {
      this.omitted++;
    }
  }

  result(): Journal {
    if (this.mode === 'v1') {
      let data: unknown;
      try {
        data = JSON.parse(this.v1Text.join('\n'));
      } catch (err) {
        throw refuse(this.path, `not a JSON journal (${(err as Error).message})`);
      }
      this.v1Text = [];
      if ((data as { version?: unknown } | null)?.version !== 1) throw refuse(this.path, 'not a gameday journal');
      this.v1(data);
    }
    if (!this.head) throw refuse(this.path, 'empty: not a gameday journal');
    const events = [...this.kept];
    if (this.worst) events.splice(this.worst.at, 0, this.worst.event);
    const journal: Journal = { ...this.head, events, summary: this.summary };
    if (this.omitted) journal.omittedEvents = this.omitted;
    if (this.torn) journal.tornLastLine = true;
    return journal;
  }
}

/** A broken journal can hold millions of problems: the first few say enough. */
function firstIssues(issues: readonly z.core.$ZodIssue[], prefix: (string | number)[] = []): string[] {
  const lines = formatIssues(issues.slice(0, 10), prefix);
  if (issues.length > 10) lines.push(`… and ${issues.length - 10} more`);
  return lines;
}
