// User mistakes: reported plainly (no stack trace), each problem by its field path; exit code 1.
import type { z } from 'zod';
import { EXIT } from '../errors/exit-codes.ts';
import { GamedayError, type Show } from '../errors/gameday-error.ts';

export class ConfigError extends GamedayError {
  constructor(
    readonly problems: string[],
    readonly source?: string,
  ) {
    const what = problems.length === 1 ? problems[0] : `${problems.length} problems`;
    super(`${source ? `${source}: ` : ''}${what}`, { exitCode: EXIT.failed });
    this.name = 'ConfigError';
  }

  /** One problem a line, prefixed with the file it came from. */
  format(): string {
    return this.lines().join('\n');
  }

  /** format()'s lines; the source and each problem echo input, so each is shown on its own. */
  override lines(show: Show = (text) => text): string[] {
    const head = this.source ? `${show(this.source)}:` : 'invalid configuration:';
    return [head, ...this.problems.map((p) => `  - ${show(p)}`)];
  }
}

/** "fault.latency: expected a duration …" for each zod issue, in input order. */
export function formatIssues(issues: readonly z.core.$ZodIssue[], prefix: readonly (string | number)[] = []): string[] {
  return issues.map((issue) => {
    const path = [...prefix, ...issue.path].map(String);
    if (issue.code === 'unrecognized_keys') {
      const keys = issue.keys.map((k) => [...path, k].join('.'));
      return `${keys.join(', ')}: unknown field${keys.length > 1 ? 's' : ''}`;
    }
    const where = path.length ? path.join('.') : '(top level)';
    let message = issue.message;
    if (issue.code === 'invalid_type' && /received undefined/.test(message)) message = 'required';
    return `${where}: ${message}`;
  });
}
