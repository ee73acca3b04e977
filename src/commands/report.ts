// gameday report JOURNAL: the journal as Markdown on stdout.
import { readJournal } from '../headless/journal.ts';
import { renderReport } from '../headless/report-markdown.ts';
import { printConfigError } from './common.ts';

export async function reportCommand(path: string, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  try {
    out.write(renderReport(readJournal(path)));
    return 0;
  } catch (err) {
    if (printConfigError(err)) return 1;
    throw err;
  }
}
