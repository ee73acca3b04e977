// Every relative link of README.md and docs/*.md reaches a file that exists and, with a #anchor, a
// heading of it: a renamed heading or a moved guide breaks a test, not a reader's click.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { headingAnchors, relativeLinks } from './doc-links.ts';
import { ROOT } from './run-block.ts';

const FILES = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

describe('headingAnchors and relativeLinks', () => {
  it('make GitHub ids of headings, code and punctuation included, repeats numbered', () => {
    const md = [
      '# Game-day checklist',
      '## Before: on the day',
      '## 2. The exporter: `gameday exporter`',
      '### Exit 6',
      '### Exit 6',
      '```sh',
      '# not a heading',
      '```',
    ].join('\n');
    expect([...headingAnchors(md)]).toEqual([
      'game-day-checklist',
      'before-on-the-day',
      '2-the-exporter-gameday-exporter',
      'exit-6',
      'exit-6-1',
    ]);
  });

  it('take relative links with their anchors, not URLs, code or links in code blocks', () => {
    const md = [
      'See [roles](roles.md#the-latch), [here](#messages) and [web](https://example.com).',
      '`[x](no.md)`',
      '```',
      '[y](no.md)',
      '```',
      '[z](../README.md)',
    ].join('\n');
    expect(relativeLinks(md)).toEqual([
      { line: 1, path: 'roles.md', anchor: 'the-latch' },
      { line: 1, path: '', anchor: 'messages' },
      { line: 6, path: '../README.md', anchor: null },
    ]);
  });
});

describe.each(FILES)('%s', (file) => {
  it('links only to files and headings that exist', () => {
    const broken: string[] = [];
    for (const link of relativeLinks(readFileSync(join(ROOT, file), 'utf8'))) {
      const target = link.path === '' ? join(ROOT, file) : join(ROOT, dirname(file), link.path);
      const where = `${file}:${link.line} → ${link.path}${link.anchor === null ? '' : `#${link.anchor}`}`;
      if (!existsSync(target)) broken.push(`${where}: no file ${relative(ROOT, target)}`);
      else if (link.anchor !== null && target.endsWith('.md') && !headingAnchors(readFileSync(target, 'utf8')).has(link.anchor))
        broken.push(`${where}: no such heading`);
    }
    expect(broken).toEqual([]);
  });
});
