// The integration tests run the compiled CLI (bin/gameday.js runs dist/), as a user would: before
// any test, dist/ is rebuilt when a source is newer than the last build (npm test builds first, so
// there this is one walk of mtimes; a lone `npx vitest run …` after an edit gets a fresh build).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const STAMP = join(ROOT, '.built');

function newestMs(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMs(path) : statSync(path).mtimeMs);
  }
  return newest;
}

export default function setup(): void {
  let builtMs = 0;
  try {
    builtMs = statSync(STAMP).mtimeMs;
  } catch {
    // never built
  }
  const sourcesMs = Math.max(newestMs(join(ROOT, 'src')), newestMs(join(ROOT, 'components')), statSync(join(ROOT, 'build.js')).mtimeMs);
  if (sourcesMs <= builtMs) return;
  const r = spawnSync(process.execPath, [join(ROOT, 'build.js')], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('npm run build failed: the tests would run a stale dist/');
}
