// Property: random passwords and tokens, drawn from every printable ASCII character and some
// non-ASCII ones, never appear in any face: text output, NDJSON, the journal's JSON, the report,
// budget-status (table and JSON) and a config error as printed. Fixed seed: a failure replays.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { budgetStatusJson, formatBudgetStatus, type BudgetStatus } from '../../src/budget/budget-status.ts';
import { ConfigError } from '../../src/config/errors.ts';
import type { GamedayEvent, Summary } from '../../src/engine/events.ts';
import { printError } from '../../src/errors/report.ts';
import type { Journal } from '../../src/headless/journal.ts';
import { ndjsonReporter } from '../../src/headless/ndjson-reporter.ts';
import { makeRedactor, redactedJson, SecretRegistry } from '../../src/headless/redact.ts';
import { rng } from '../helpers/rng.ts';
import { renderReport } from '../../src/headless/report-markdown.ts';
import { textReporter } from '../../src/headless/text-reporter.ts';

const CASES = 300;

const ASCII = Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i));
const NON_ASCII = ['é', 'ß', 'Ω', 'ж', '日', '本', '☃', '🙂', '\u00a0', '€'];
/** what ends a URL's authority (WHATWG) or a URL in free text: parsing alone cannot see past it */
const ENDS_AUTHORITY = new Set(['/', '?', '#', '\\', ' ', '\u00a0']);

function randomSecret(next: () => number, min: number, max: number, alphabet: readonly string[]): string {
  const length = min + Math.floor(next() * (max - min + 1));
  let s = '';
  for (let i = 0; i < length; i++)
    s += next() < 0.85 ? alphabet[Math.floor(next() * alphabet.length)] : NON_ASCII[Math.floor(next() * NON_ASCII.length)];
  return s;
}

const WINDOW = 6;
/** Every run of WINDOW characters of the secret (all of it when shorter): a partial leak counts. */
function pieces(secret: string): string[] {
  const chars = [...secret];
  if (chars.length <= WINDOW) return [secret];
  return Array.from({ length: chars.length - WINDOW + 1 }, (_, i) => chars.slice(i, i + WINDOW).join(''));
}

/** The text and, for JSON, every string in it decoded: an escaped secret is still a leak. */
function readable(output: string, json: boolean): string {
  if (!json) return output;
  const strings: string[] = [];
  const walk = (v: unknown) => {
    if (typeof v === 'string') strings.push(v);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  for (const line of output.split('\n').filter((l) => l.trim())) walk(JSON.parse(line));
  return output + '\n' + strings.join('\n');
}

function leaks(output: string, secret: string, json = false): string | null {
  const text = readable(output, json);
  for (const form of new Set([secret, encodeURIComponent(secret)])) {
    for (const piece of pieces(form)) if (text.includes(piece)) return piece;
  }
  return null;
}

function capture() {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  return { out, text: () => text };
}

/** Every face, fed the same events and data with the password and the token in them. */
function faces(url: string, token: string, redact: (t: string) => string): { name: string; output: string; json: boolean }[] {
  const ts = Date.UTC(2026, 10, 27, 12, 0, 0);
  const summary: Summary = {
    status: 'rollback-failed',
    exitCode: 6,
    experiment: `exp-${token}`,
    experimentId: 'id1',
    spentUsd: 1,
    requests: 1000,
    detectionMs: 10,
    recoveryMs: null,
    peakImpact: 100,
    trigger: 'breach',
    reason: `rollback failed: curl ${url}/restart said 401 for ${token}`,
    faultRemoved: false,
    recoveryVerified: false,
    durationMs: 5000,
    journalPath: null,
  };
  const events: GamedayEvent[] = [
    { type: 'phase', ts, phase: 'preflight', detail: `target ${url}` },
    { type: 'preflight', ts, check: 'target', ok: true, detail: `${url}/healthz answered in 3ms` },
    { type: 'note', ts, text: `token ${token} rotated; see ${url}`, source: 'user' },
    {
      type: 'rollback',
      ts,
      step: 'command',
      result: 'failed',
      attempt: 1,
      message: `curl -H 'Authorization: Bearer ${token}' ${url}/restart: exit 22\nstderr: 401 for ${url}`,
    },
    { type: 'error', ts, message: `connect ECONNREFUSED (${url})` },
    { type: 'summary', ts, ...summary },
  ];

  const text = capture();
  const textFace = textReporter(text.out, redact);
  const ndjson = capture();
  const ndjsonFace = ndjsonReporter(ndjson.out, redact);
  for (const e of events) {
    textFace(e);
    ndjsonFace(e);
  }

  const plan = {
    targetUrl: url,
    fault: { type: 'command', inject: ['curl', `${url}/break`], restore: ['curl', '-H', `token: ${token}`, url] },
    traffic: { rps: 20 },
  };
  const journal: Journal = { version: 1, experimentId: 'id1', name: `exp-${token}`, startedAt: 'now', plan, events, summary };
  const status: BudgetStatus = {
    stateDir: '/tmp/x',
    ledger: '/tmp/x/ledger.sqlite',
    backend: 'sqlite',
    awaitingRecover: [],
    day: { date: '2026-11-27', spentUsd: 1, reservedUsd: 0, capUsd: 500, remainingUsd: 499 },
    stopLatch: { latched: false, at: null, by: null },
    config: {
      costPerRequestUsd: 0.001,
      maxExperimentUsd: 100,
      dailyCapUsd: 500,
      sources: {
        costPerRequestUsd: { kind: 'default' },
        maxExperimentUsd: { kind: 'default' },
        dailyCapUsd: { kind: 'file', path: `/cfg/${url}.yaml` },
      },
    },
    running: [
      {
        id: 'r1',
        name: `live ${url}`,
        pid: 1,
        host: 'h',
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
        name: `exp-${token}`,
        status: 'passed',
        spentUsd: 1,
        startedAt: '2026-11-27T12:00:00.000Z',
        endedAt: null,
        operator: `op-${token}`,
        pid: 1,
        host: 'h',
      },
    ],
  };
  const configError = capture();
  printError(
    new ConfigError(
      [`--target: expected an http:// or https:// URL, got "${url}"`, `MY_API_TOKEN: "${token}" is not a number`],
      `experiment ${url}.yaml`,
    ),
    configError.out,
    redact,
  );

  return [
    { name: 'text output', output: text.text(), json: false },
    { name: 'NDJSON', output: ndjson.text(), json: true },
    { name: 'journal JSON', output: redactedJson(journal, redact, 1).replace(/\n\s*/g, ''), json: true },
    { name: 'report', output: renderReport(journal, redact), json: false },
    { name: 'budget-status', output: formatBudgetStatus(status, redact), json: false },
    { name: 'budget-status --json', output: budgetStatusJson(status, redact).replace(/\n\s*/g, ''), json: true },
    { name: 'config error', output: configError.text(), json: false },
  ];
}

describe('redaction, property-style', () => {
  it(`known secrets: ${CASES} random passwords (handed in on the command line) and tokens (in the environment) never appear`, () => {
    const next = rng(0x5eed_0007);
    for (let i = 0; i < CASES; i++) {
      const password = randomSecret(next, 4, 16, ASCII);
      const token = randomSecret(next, 8, 20, ASCII);
      const url = `http://user:${password}@127.0.0.1:${1024 + i}`;
      // as processSecrets() registers them: the command line and the environment
      const secrets = new SecretRegistry();
      secrets.addArgv(['node', 'gameday', 'run', '--target', url]);
      secrets.addEnv({ MY_API_TOKEN: token, HOME: '/root' });
      for (const face of faces(url, token, makeRedactor(secrets))) {
        for (const [what, secret] of [
          ['password', password],
          ['token', token],
        ]) {
          const piece = leaks(face.output, secret, face.json);
          if (piece !== null)
            expect.fail(
              `case ${i}: the ${what} ${JSON.stringify(secret)} leaks ${JSON.stringify(piece)} in the ${face.name}:\n${face.output}`,
            );
        }
      }
    }
  });

  it(`by parsing alone: ${CASES} random passwords of URLs nobody registered (say, in a command's stderr) never appear`, () => {
    const next = rng(0x0bad_cafe);
    const alphabet = ASCII.filter((c) => !ENDS_AUTHORITY.has(c));
    for (let i = 0; i < CASES; i++) {
      const password = randomSecret(next, 4, 16, alphabet).replace(/[\u00a0]/g, 'x');
      const token = randomSecret(next, 8, 20, ASCII);
      const url = `https://svc-${i}:${password}@10.0.0.${i % 250}:8443`;
      for (const face of faces(url, token, makeRedactor([token]))) {
        const piece = leaks(face.output, password, face.json);
        if (piece !== null)
          expect.fail(
            `case ${i}: the password ${JSON.stringify(password)} leaks ${JSON.stringify(piece)} in the ${face.name}:\n${face.output}`,
          );
      }
    }
  });
});
