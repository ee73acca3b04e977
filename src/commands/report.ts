// gameday report JOURNAL [--format md|html] [--out FILE]: the journal as a Markdown report (the
// default) or a self-contained HTML page with charts, on stdout or in a file. A journal that is not
// one (wrong shape, too big, not a file) is a ConfigError: exit 1 with what is wrong, never a stack
// trace (cli.ts), and nothing is written.
import { ConfigError } from '../config/errors.ts';
import { EXIT, type ExitCode } from '../errors/exit-codes.ts';
import { readJournal } from '../headless/journal.ts';
import { checkReportOut, writeReportFile } from '../headless/report-file.ts';
import { renderHtmlReport } from '../headless/report-html.ts';
import { renderReport } from '../headless/report-markdown.ts';
import { SeriesCollector } from '../headless/report-series.ts';

const REPORT_FORMATS = ['md', 'html'] as const;
type ReportFormat = (typeof REPORT_FORMATS)[number];

export interface ReportOptions {
  format?: string;
  out?: string;
}

export async function reportCommand(
  path: string,
  opts: ReportOptions = {},
  stdout: NodeJS.WritableStream = process.stdout,
): Promise<ExitCode> {
  const format = (opts.format ?? 'md') as ReportFormat;
  if (!REPORT_FORMATS.includes(format)) throw new ConfigError([`unknown format ${JSON.stringify(opts.format)}: md or html`], '--format');
  // before the journal is read: a bad --out is known at once, and nothing is written for a bad journal
  const target = opts.out === undefined ? null : checkReportOut(opts.out);
  let text: string;
  if (format === 'html') {
    const series = new SeriesCollector();
    const journal = await readJournal(path, { onTick: series.add });
    text = renderHtmlReport(journal, series.result());
  } else {
    text = renderReport(await readJournal(path));
  }
  if (target === null) stdout.write(text);
  else writeReportFile(target, text);
  return EXIT.ok;
}
