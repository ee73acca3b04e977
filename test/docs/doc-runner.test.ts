// The doc-test runner is not vacuous: a block that fails, exits other than its marker says, hangs,
// or shows an experiment gameday refuses, is reported as failing, with the markdown line to blame.
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { parseDocBlocks } from './doc-blocks.ts';
import { blockFailure, makeWorkspace, runBlock } from './run-block.ts';

const ws = makeWorkspace();
afterAll(() => rmSync(ws.dir, { recursive: true, force: true }));

const FIXTURE = [
  '# A guide that has rotted', //                         1
  '```sh doctest', //                                     2
  'npx gameday --version',
  'npx gameday budget-status --no-such-flag',
  'echo never reached',
  '```',
  '```sh doctest exit=3', //                              7
  'true',
  '```',
  '```yaml doctest', //                                   10
  'name: misspelt',
  'fault: { type: latency, latncy: 800ms }',
  '```',
  '```yaml doctest exit=1', //                            14
  'name: refused-as-expected',
  'fault: { type: latency, latncy: 800ms }',
  '```',
  '```sh doctest timeout=1', //                           18
  'sleep 30 &',
  'wait',
  '```',
  '```sh doctest', //                                     22
  'npx gameday validate doctest-14.yaml > out.txt 2>&1 || grep -q latncy out.txt',
  'cat > later.sh <<EOF',
  'exit 0',
  'EOF',
  '```',
].join('\n');

const blocks = parseDocBlocks(FIXTURE, 'fixture.md');
const results = new Map<number, Awaited<ReturnType<typeof runBlock>>>();

describe('the doc-test runner, on a fixture', () => {
  it('runs the blocks in order in one working dir', async () => {
    for (const b of blocks) results.set(b.line, await runBlock(b, ws));
    expect([...results.keys()]).toEqual([2, 7, 10, 14, 18, 22]);
  });

  it('fails a block whose command fails under set -e, naming the command line', () => {
    const failure = blockFailure(blocks[0], results.get(2)!);
    expect(failure).toMatch(/^fixture\.md:2: the sh block exited 1, expected exit 0/);
    expect(results.get(2)!.stderr).toContain('doctest: fixture.md:4 exited 1');
    expect(results.get(2)!.stdout).not.toContain('never reached');
  });

  it('fails a block that exits 0 where its marker expects 3', () => {
    expect(blockFailure(blocks[1], results.get(7)!)).toMatch(/^fixture\.md:7: the sh block exited 0, expected exit 3/);
  });

  it('fails an experiment that does not validate, and passes one marked to be refused', () => {
    expect(blockFailure(blocks[2], results.get(10)!)).toMatch(/fixture\.md:10: the yaml block exited 1, expected exit 0[\s\S]*latncy/);
    expect(blockFailure(blocks[3], results.get(14)!)).toBeNull();
  });

  it('kills a block past its timeout, with what it left in the background', () => {
    const r = results.get(18)!;
    expect(r.timedOut).toBe(true);
    expect(r.durationMs).toBeLessThan(10_000);
    expect(blockFailure(blocks[4], r)).toMatch(/the sh block was killed after 1 s/);
  });

  it('lets a later block use what an earlier one wrote', () => {
    expect(blockFailure(blocks[5], results.get(22)!)).toBeNull();
  });
});
