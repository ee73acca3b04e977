// The problems a ConfigError lists, from a call expected to throw one.
import { ConfigError } from '../../src/config/errors.ts';

export function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}
