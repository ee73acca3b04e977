// One base for every failure a user can act on (after Shopify cli-kit's AbortError): a message that
// says what is wrong, the exit code it ends the command with, and optionally the next step. cli.ts
// prints it once, redacted and printable, never with a stack; anything else that reaches it is a bug.
import { EXIT, type ExitCode } from './exit-codes.ts';

export interface GamedayErrorOptions {
  /** default EXIT.failed: nothing was done */
  exitCode?: ExitCode;
  /** the next step, when the message does not already say it; printed on a line of its own */
  hint?: string;
  cause?: unknown;
}

/** How a piece of user text is shown: redacted, control characters as escapes (src/errors/report.ts). */
export type Show = (text: string) => string;

export class GamedayError extends Error {
  override name = 'GamedayError';
  readonly exitCode: ExitCode;
  readonly hint: string | undefined;

  constructor(message: string, options: GamedayErrorOptions = {}) {
    // no `cause` key at all when there is none, as a plain Error has
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.exitCode = options.exitCode ?? EXIT.failed;
    this.hint = options.hint;
  }

  /**
   * The lines printed for it. `show` is applied to each piece of echoed input on its own, so a
   * newline inside one is shown as `\n` and cannot forge a line; the printer shows each whole line
   * again (report.ts).
   */
  lines(show: Show = (text) => text): string[] {
    return [`gameday: ${show(this.message)}`, ...(this.hint === undefined ? [] : [`  ${show(this.hint)}`])];
  }
}
