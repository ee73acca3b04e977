// gameday replay JOURNAL: the control room played back from a journal, or its events again as text or
// NDJSON, at the pace they were recorded (times --speed). The replay is one more event source feeding
// the same faces: it reads a file and nothing else. No ledger is opened, nothing is injected, stopped
// or spent. Its exit code is 0 once played or left, whatever the run's outcome; a journal that is not
// one (readJournal's ConfigError) or a bad --speed is exit 1, nothing shown.
import * as z from 'zod';
import { parseNumberFlag } from '../config/load.ts';
import { ConfigError } from '../config/errors.ts';
import { EXIT, type ExitCode } from '../errors/exit-codes.ts';
import { runsHeadless } from '../headless/face-choice.ts';
import { readJournal } from '../headless/journal.ts';
import { ndjsonReporter } from '../headless/ndjson-reporter.ts';
import { guardedOutput } from '../headless/output.ts';
import { printable } from '../headless/printable.ts';
import { makeRedactor } from '../headless/redact.ts';
import { formatSummary, textReporter } from '../headless/text-reporter.ts';
import { ReplayPlayer } from '../state/replay-player.ts';
import { createGamedayStore } from '../state/store.ts';

export interface ReplayCommandOptions {
  speed?: string;
  /** text or json: headless; unset: the control room where a terminal can host it, else text */
  output?: string;
}

const SPEED_MIN = 0.1;
const SPEED_MAX = 1000;

const speedSchema = z
  .number()
  .min(SPEED_MIN, `at least ${SPEED_MIN} (times the recorded pace)`)
  .max(SPEED_MAX, `at most ${SPEED_MAX} (times the recorded pace)`);

function parseSpeed(text: string | undefined): number {
  return text === undefined ? 1 : parseNumberFlag('--speed', text, speedSchema);
}

export async function replayCommand(path: string, opts: ReplayCommandOptions = {}): Promise<ExitCode> {
  const speed = parseSpeed(opts.speed);
  const journal = await readJournal(path, { allEvents: true });
  if (journal.events.length === 0) throw new ConfigError(['no events: nothing to replay (the run was stopped as it started)'], path);
  // the journal was redacted when it was written; this catches nothing new but keeps every face's contract
  const redact = makeRedactor();

  if (opts.output !== undefined || runsHeadless(false)) {
    let gone: () => void = () => {};
    const readerGone = new Promise<void>((resolve) => (gone = resolve));
    // a reader that goes away (`| head`) ends the replay: there is nothing to roll back
    const sink = guardedOutput(process.stdout, () => gone());
    const player = new ReplayPlayer(journal.events, {
      speed,
      onEvent: opts.output === 'json' ? ndjsonReporter(sink, redact) : textReporter(sink, redact),
    });
    player.start();
    await Promise.race([player.ended, readerGone]);
    player.dispose();
    return EXIT.ok;
  }

  const store = createGamedayStore();
  const player = new ReplayPlayer(journal.events, { speed, store });
  const { renderControlRoom } = await import('../../components/render-control-room.tsx');
  const room = renderControlRoom({ store, replay: player });
  // a signal leaves as q does: Ink puts the terminal back (nothing else to stop: the run is over)
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const leave = () => room.unmount();
  for (const sig of signals) process.on(sig, leave);
  player.start();
  try {
    await room.waitUntilExit();
  } finally {
    player.dispose();
    for (const sig of signals) process.off(sig, leave);
  }
  // as after a live run: the result stays where the shell can see it (this command's exit code is 0)
  const summary = store.getState().summary;
  if (summary) process.stdout.write(`${printable(redact(`replayed ${path}:`))}\n${formatSummary(summary, redact)}\n`);
  return EXIT.ok;
}
