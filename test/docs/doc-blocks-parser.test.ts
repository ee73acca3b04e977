// The doc-test marker's parser: which blocks are marked, with what, and that a marker it cannot read
// is an error rather than a block silently left out.
import { describe, expect, it } from 'vitest';
import { DEFAULT_TIMEOUT_MS, DocBlockError, parseDocBlocks } from './doc-blocks.ts';

const md = (...lines: string[]): string => lines.join('\n');

describe('parseDocBlocks', () => {
  it('takes marked sh and yaml blocks with their line, options and body; leaves the rest', () => {
    const blocks = parseDocBlocks(
      md(
        '# Title', //                                   1
        '```sh', //                                     2
        'not marked',
        '```',
        '```sh doctest exit=3 timeout=90 needs=promtool,amtool', // 5
        'npx gameday run --headless',
        'echo done',
        '```',
        '```yaml doctest file=checkout.yaml', //        9
        'name: x',
        '```',
        '~~~yaml doctest config', //                    12
        'budget: { dailyCapUsd: 50 }',
        '~~~',
      ),
      'docs/x.md',
    );
    expect(blocks).toEqual([
      {
        file: 'docs/x.md',
        line: 5,
        kind: 'sh',
        body: 'npx gameday run --headless\necho done\n',
        exit: 3,
        needs: ['promtool', 'amtool'],
        timeoutMs: 90_000,
        saveAs: null,
        config: false,
      },
      {
        file: 'docs/x.md',
        line: 9,
        kind: 'yaml',
        body: 'name: x\n',
        exit: 0,
        needs: [],
        timeoutMs: DEFAULT_TIMEOUT_MS,
        saveAs: 'checkout.yaml',
        config: false,
      },
      {
        file: 'docs/x.md',
        line: 12,
        kind: 'yaml',
        body: 'budget: { dailyCapUsd: 50 }\n',
        exit: 0,
        needs: [],
        timeoutMs: DEFAULT_TIMEOUT_MS,
        saveAs: null,
        config: true,
      },
    ]);
  });

  it('does not take a fence inside another block for a block of its own', () => {
    const blocks = parseDocBlocks(md('````markdown', '```sh doctest', 'false', '```', '````', '```bash doctest', 'true', '```'), 'f.md');
    expect(blocks.map((b) => [b.line, b.body])).toEqual([[6, 'true\n']]);
  });

  it('takes the indent of a block in a list off its lines', () => {
    const blocks = parseDocBlocks(
      md('1. Check it:', '   ```sh doctest', '   npx gameday validate x.yaml', '     indented more', '   ```'),
      'f.md',
    );
    expect(blocks[0].body).toBe('npx gameday validate x.yaml\n  indented more\n');
  });

  it.each([
    ['a misspelt marker', '```sh doc-test', /write the marker as `sh doctest/],
    ['the marker not first', '```sh exit=3 doctest', /write the marker as/],
    ['an unknown option', '```sh doctest exti=3', /unknown doctest option "exti=3"/],
    ['an exit that is not a number', '```sh doctest exit=three', /exit must be a whole number/],
    ['a yaml option on sh', '```sh doctest file=x.yaml', /unknown doctest option "file=x.yaml" for a sh block/],
    ['a path for file=', '```yaml doctest file=../x.yaml', /file= takes a plain file name/],
    ['a language it cannot run', '```python doctest', /runs sh and yaml blocks, not "python"/],
  ])('refuses %s, naming file:line', (_, fence, message) => {
    expect(() => parseDocBlocks(md('text', fence, 'x', '```'), 'docs/g.md')).toThrow(DocBlockError);
    expect(() => parseDocBlocks(md('text', fence, 'x', '```'), 'docs/g.md')).toThrow(message);
    expect(() => parseDocBlocks(md('text', fence, 'x', '```'), 'docs/g.md')).toThrow(/^docs\/g\.md:2: /);
  });

  it('refuses an empty marked block and one never closed', () => {
    expect(() => parseDocBlocks(md('```sh doctest', '', '```'), 'f.md')).toThrow(/f\.md:1: a doctest block with nothing in it/);
    expect(() => parseDocBlocks(md('```sh doctest', 'true'), 'f.md')).toThrow(/f\.md:1: the code block is never closed/);
  });
});
