// gameday report JOURNAL: the journal as Markdown on stdout. A journal that is not one (wrong shape,
// too big, not a file) is a ConfigError: exit 1 with what is wrong, never a stack trace (cli.ts).
import { EXIT, type ExitCode } from '../errors/exit-codes.ts';
import { readJournal } from '../headless/journal.ts';
import { renderReport } from '../headless/report-markdown.ts';

export async function reportCommand(path: string, out: NodeJS.WritableStream = process.stdout): Promise<ExitCode> {
  out.write(renderReport(await readJournal(path)));
  return EXIT.ok;
}
