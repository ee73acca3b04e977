// --output json: one event a line, each with `type` and `ts` (epoch ms); the summary comes last.
import type { GamedayEvent } from '../engine/events.ts';

export function ndjsonReporter(out: NodeJS.WritableStream, redact: (text: string) => string) {
  return (event: GamedayEvent): void => {
    out.write(redact(JSON.stringify(event)) + '\n');
  };
}
