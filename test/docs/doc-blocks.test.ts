// Every block of README.md and docs/*.md marked `doctest` (test/docs/doc-blocks.ts says how) runs
// here, against the embedded demo, one test per block named by file:line: a guide whose command,
// flag, exit code or example stops being true fails `npm test`.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseDocBlocks, type DocBlock } from './doc-blocks.ts';
import { blockFailure, hasProgram, makeWorkspace, ROOT, runBlock, type Workspace } from './run-block.ts';

const FILES = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`),
];

const blocksOf = new Map<string, DocBlock[]>(FILES.map((f) => [f, parseDocBlocks(readFileSync(join(ROOT, f), 'utf8'), f)]));

it('finds runnable blocks in README and in every guide', () => {
  const counted = Object.fromEntries([...blocksOf].map(([f, bs]) => [f, bs.length]));
  expect(Object.entries(counted).filter(([, n]) => n === 0)).toEqual([]);
});

// Files run side by side (each in its own dir, with its own ledger; a run mostly waits on its
// schedule), the blocks of one file one after another: the whole takes about as long as the
// slowest file instead of the sum.
for (const [file, blocks] of [...blocksOf].filter(([, bs]) => bs.length > 0)) {
  describe.concurrent(file, () => {
    let ws: Workspace | null = null;
    // a later block may depend on an earlier one: after a failure, it is not run
    let failedAt: number | null = null;
    afterAll(() => {
      if (ws) rmSync(ws.dir, { recursive: true, force: true });
    });
    for (const block of blocks) {
      it.sequential(
        `${file}:${block.line} (${block.kind}${block.exit ? `, exit ${block.exit}` : ''})`,
        { timeout: block.timeoutMs + 15_000 },
        async () => {
          if (failedAt !== null) throw new Error(`not run: ${file}:${failedAt} failed before it`);
          failedAt = block.line;
          const missing = block.needs.filter((p) => !hasProgram(p));
          if (missing.length) throw new Error(`${file}:${block.line} needs ${missing.join(', ')}: not installed (.ci/run installs it)`);
          ws ??= makeWorkspace();
          const failure = blockFailure(block, await runBlock(block, ws));
          if (failure) throw new Error(failure);
          failedAt = null;
        },
      );
    }
  });
}
