// --output json: one event a line, each with `type` and `ts` (epoch ms); the summary comes last.
import type { GamedayEvent } from '../engine/events.ts';
import type { Output } from './output.ts';
import { redactedJson } from './redact.ts';

export function ndjsonReporter(out: Pick<Output, 'write'>, redact: (text: string) => string) {
  return (event: GamedayEvent): void => {
    out.write(redactedJson(event, redact) + '\n');
  };
}
