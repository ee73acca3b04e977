// Where `report --out` writes: a report may hold what a run saw (URLs, notes, hosts), so it is
// private like the journal (0600), and written whole or not at all (a temp file beside it, synced,
// renamed over). An existing file is replaced only when it is a gameday report: a typo must not
// destroy a journal, a config or anything else.
import { closeSync, openSync, readSync, realpathSync, statSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from '../config/errors.ts';
import { writeFileAtomic } from '../fs/write-atomic.ts';
import { HTML_REPORT_TAG } from './report-html.ts';

const MARKDOWN_TAG = '# Game day report: ';

/** Whether the start of a file is a report gameday wrote (Markdown or HTML). */
export function isGamedayReport(head: string): boolean {
  return head.startsWith(MARKDOWN_TAG) || (head.startsWith('<!doctype html>') && head.includes(HTML_REPORT_TAG));
}

const errText = (err: unknown): string => {
  const e = err as NodeJS.ErrnoException;
  return e.code ? `${e.code}: ${e.message.replace(/^[A-Z]+: /, '')}` : String(e.message ?? err);
};

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new ConfigError([`${path} cannot be used (${errText(err)})`], '--out');
  }
}

function head(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(1024);
    return buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * The file the report will replace or create (an existing link is followed), or a ConfigError
 * (exit 1) saying why not. Checked before the journal is read; creates nothing.
 */
export function checkReportOut(path: string): string {
  const st = statOrNull(path);
  if (st) {
    if (st.isDirectory()) throw new ConfigError([`${path} is a directory; give a file path`], '--out');
    if (!st.isFile()) throw new ConfigError([`${path} is not a regular file`], '--out');
    let start: string;
    try {
      start = head(path);
    } catch (err) {
      throw new ConfigError([`${path} cannot be read (${errText(err)})`], '--out');
    }
    if (st.size > 0 && !isGamedayReport(start))
      throw new ConfigError(
        [`${path} exists and is not a gameday report: refusing to overwrite it; remove it or pick another file`],
        '--out',
      );
    return realpathSync(path);
  }
  const dir = dirname(path);
  const d = statOrNull(dir);
  if (!d) throw new ConfigError([`the directory of ${path} does not exist`], '--out');
  if (!d.isDirectory()) throw new ConfigError([`${dir} is not a directory`], '--out');
  return path;
}

/** Writes `text` to `path` whole, 0600 (write-atomic.ts). */
export function writeReportFile(path: string, text: string): void {
  try {
    writeFileAtomic(path, text, 0o600);
  } catch (err) {
    throw new ConfigError([`${path} cannot be written (${errText(err)})`], '--out');
  }
}
