// gameday report JOURNAL: the journal as Markdown on stdout. A journal that is not one (wrong shape,
// too big, not a file) is exit 1 with what is wrong, never a stack trace.
import { readJournal } from '../headless/journal.ts';
import { renderReport } from '../headless/report-markdown.ts';
import { printConfigError } from './common.ts';

export async function reportCommand(path: string, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  try {
    out.write(renderReport(await readJournal(path)));
    return 0;
  } catch (err) {
    if (printConfigError(err)) return 1;
    throw err;
  }
}
