// Every face shows a name, a note or an echoed input with its control characters escaped: the text
// output, NDJSON, the report, budget-status and error messages.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatBudgetStatus, type BudgetStatus } from '../../src/budget/budget-status.ts';
import { Ledger } from '../../src/budget/sqlite-ledger.ts';
import { budgetStatusCommand } from '../../src/commands/budget-status.ts';
import { ConfigError } from '../../src/config/errors.ts';
import type { Summary } from '../../src/engine/events.ts';
import { printError } from '../../src/errors/report.ts';
import type { Journal } from '../../src/headless/journal.ts';
import { ndjsonReporter } from '../../src/headless/ndjson-reporter.ts';
import { makeRedactor } from '../../src/headless/redact.ts';
import { renderReport } from '../../src/headless/report-markdown.ts';
import { textReporter } from '../../src/headless/text-reporter.ts';

// clear the screen, retitle the window, an 8-bit CSI, and a forged line
const NAME = 'evil\u001b[2J\u001b]0;pwned\u0007\u009b31mname\nFORGED: all clear';
const NOTE = 'look\u001b[1A\rhere\u007f';
// what a terminal would obey: C0 but the faces' own newlines, DEL, C1

const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

function capture() {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  return { out, text: () => text };
}

const summary: Summary = {
  status: 'passed',
  exitCode: 0,
  experiment: NAME,
  experimentId: 'id1',
  spentUsd: 1,
  requests: 1000,
  detectionMs: null,
  recoveryMs: 10,
  peakImpact: 0,
  trigger: 'duration',
  reason: `ran ${NAME}`,
  faultRemoved: true,
  recoveryVerified: true,
  durationMs: 5000,
  journalPath: null,
};
const ts = Date.UTC(2026, 10, 27, 12, 0, 0);

/** No control character, and no line that starts with the forged text. */
function expectNeutralised(text: string) {
  expect(text).not.toMatch(CONTROL);
  expect(text.split('\n').some((l) => l.startsWith('FORGED'))).toBe(false);
  expect(text).toContain('evil\\x1b[2J\\x1b]0;pwned\\x07\\x9b31mname\\nFORGED');
}

describe('control characters are shown, not obeyed', () => {
  it('in the text output', () => {
    const { out, text } = capture();
    const report = textReporter(out, (t) => t);
    report({ type: 'note', ts, text: NOTE, source: 'user' });
    report({ type: 'phase', ts, phase: 'baseline', detail: NAME });
    report({ type: 'summary', ts, ...summary });
    expectNeutralised(text());
    expect(text()).toContain('note: look\\x1b[1A\\rhere\\x7f');
  });

  it('in NDJSON (C1 and DEL, which JSON.stringify leaves raw)', () => {
    const { out, text } = capture();
    const report = ndjsonReporter(out, (t) => t);
    report({ type: 'note', ts, text: NOTE, source: 'user' });
    report({ type: 'summary', ts, ...summary });
    expect(text()).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    const lines = text().trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[1]).experiment).toBe(NAME);
  });

  it('in the report', () => {
    const journal: Journal = {
      version: 1,
      experimentId: 'id1',
      name: NAME,
      startedAt: 'now',
      plan: { targetUrl: 'http://127.0.0.1:1' },
      events: [
        { type: 'note', ts, text: NOTE, source: 'user' },
        { type: 'summary', ts, ...summary },
      ],
      summary,
    };
    const text = renderReport(journal);
    expectNeutralised(text);
    expect(text).toContain('- look\\x1b[1A\\rhere\\x7f');
  });

  it('in budget-status', () => {
    const status: BudgetStatus = {
      stateDir: '/tmp/x',
      ledger: '/tmp/x/ledger.sqlite',
      backend: 'sqlite',
      awaitingRecover: [],
      day: { date: '2026-11-27', spentUsd: 1, reservedUsd: 0, capUsd: 500, remainingUsd: 499 },
      stopLatch: { latched: true, at: 'now', by: `me\u001b[2J` },
      config: {
        costPerRequestUsd: 0.001,
        maxExperimentUsd: 100,
        dailyCapUsd: 500,
        sources: {
          costPerRequestUsd: { kind: 'default' },
          maxExperimentUsd: { kind: 'env', name: 'MAX_EXPERIMENT_COST' },
          dailyCapUsd: { kind: 'file', path: `/tmp/team\u001b[2J.yaml` },
        },
      },
      running: [
        {
          id: 'r1',
          name: NAME,
          pid: 1,
          host: 'h\u009b',
          operator: null,
          phase: 'observe',
          heartbeatAgeMs: 1,
          stale: false,
          reservedUsd: 0,
          spentUsd: 0,
          experimentCapUsd: 5,
        },
      ],
      experiments: [
        {
          id: 'e1',
          name: NAME,
          status: 'passed',
          spentUsd: 1,
          startedAt: '2026-11-27T12:00:00.000Z',
          endedAt: null,
          pid: 1,
          host: 'h',
          operator: null,
        },
      ],
    };
    expectNeutralised(formatBudgetStatus(status));
  });

  describe('budget-status, read from a ledger', () => {
    let dir: string;
    beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'gameday-cc-'))));
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('as a table and as JSON', async () => {
      const ledger = Ledger.open(dir);
      const h = ledger.registerExperiment({ name: NAME, experimentCapUsd: 5, dailyCapUsd: 20, costPerRequestUsd: 0.001 });
      await h.reserve(10);
      await h.finish('passed', 10);
      ledger.close();
      for (const json of [false, true]) {
        const { out, text } = capture();
        expect(await budgetStatusCommand({ stateDir: dir, json, out, err: new PassThrough() })).toBe(0);
        if (json) {
          expect(text()).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
          expect(JSON.parse(text()).experiments[0].name).toBe(NAME);
        } else {
          expectNeutralised(text());
        }
      }
    });
  });

  it('in a config error echoing input', () => {
    const { out, text } = capture();
    expect(printError(new ConfigError([`--experiment-type: unknown type "${NAME}"`], `file\u001b[2J.yaml`), out)).toBe(1);
    expectNeutralised(text());
    expect(text()).toContain('file\\x1b[2J.yaml:');
  });

  it('the redactor runs before the escaping: a secret holding a control character still goes', () => {
    const { out, text } = capture();
    const report = textReporter(out, makeRedactor(['to\tken']));
    report({ type: 'note', ts, text: 'used to\tken', source: 'user' });
    expect(text()).toContain('note: used ***');
  });
});
