// Where gameday's own files are (config/, bin/, dist/), wherever it runs from: the sources
// (src/config), or the bundle (dist/, dist/chunks). No dependencies: the demo's pricing process,
// a tiny script of its own, needs it too.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The nearest directory up from `from` that holds package.json. */
function packageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return resolve(from, '..', '..');
  }
}

export const ROOT_DIR = packageRoot(dirname(fileURLToPath(import.meta.url)));
