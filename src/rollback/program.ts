// Is a program there to run? Asked at preflight, before the fault goes in: a rollback whose program
// is missing would only be found out when the rollback is needed. Like `command -v`, without a shell.
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

function isExecutableFile(file: string): boolean {
  try {
    // a directory passes X_OK too (it means "may search"): only a regular file can be run
    if (!statSync(file).isFile()) return false;
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Where `name` would be run from: a name with a `/` is a path (relative to the working directory)
 * and is not searched for; any other is looked for in each PATH entry in turn. Null when there is
 * no regular file there that this process may execute.
 */
export function findProgram(name: string, env: NodeJS.ProcessEnv = process.env): string | null {
  if (name === '') return null;
  if (name.includes('/')) return isExecutableFile(name) ? name : null;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    // an empty PATH entry means the working directory, as the shell reads it
    const candidate = join(dir === '' ? '.' : dir, name);
    if (isExecutableFile(candidate)) return candidate;
  }
  return null;
}

/** Throws, naming `what` and the program, unless argv[0] can be run. */
export function checkProgram(argv: string[], what: string): void {
  const program = argv[0] ?? '';
  if (findProgram(program) === null) throw new Error(`${what}: ${program} not found on PATH (or not executable)`);
}
