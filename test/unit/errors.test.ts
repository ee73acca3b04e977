// One error model: the exit-code table, each error class with its code and message, and cli.ts's one
// mapping (a GamedayError: its message, no stack, its code; anything else: the stack and 70).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { LedgerError, StopLatchedError } from '../../src/budget/ledger-error.ts';
import { StateDirError } from '../../src/budget/state-dir.ts';
import { ledgerOpenError, runError } from '../../src/commands/run-errors.ts';
import { ConfigError } from '../../src/config/errors.ts';
import { EXIT_CODE } from '../../src/engine/events.ts';
import { EXIT } from '../../src/errors/exit-codes.ts';
import { GamedayError } from '../../src/errors/gameday-error.ts';
import { exitCodeFor, printError } from '../../src/errors/report.ts';
import { makeRedactor } from '../../src/headless/redact.ts';
import { ROOT } from '../helpers/cli.ts';

const STACK = /\n\s+at /;
const noSecrets = makeRedactor([]);

function sink() {
  let text = '';
  return { write: (s: string) => (text += s), text: () => text };
}

/** What cli.ts prints for `err`, and the code it exits with. */
function mapped(err: unknown, redact = noSecrets): { code: number; stderr: string } {
  const err_out = sink();
  const code = exitCodeFor(err, err_out, redact);
  return { code, stderr: err_out.text() };
}

describe('the exit-code table', () => {
  it("run's codes are 0–6, one per status, as README's table says", () => {
    expect(EXIT_CODE).toEqual({ passed: 0, invalid: 1, refused: 2, breach: 3, budget: 4, stopped: 5, 'rollback-failed': 6 });
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const table = readme.slice(readme.indexOf('### Exit codes of `run`')).split('\n\n')[1];
    const codes = [...table.matchAll(/^\| (\d+) \|/gm)].map((m) => Number(m[1]));
    expect(codes).toEqual(Object.values(EXIT_CODE));
  });

  it('every code has one name, and 70 is an internal error (documented in README)', () => {
    expect(EXIT).toEqual({ ok: 0, failed: 1, refused: 2, breach: 3, budget: 4, stopped: 5, faultsMayRemain: 6, internal: 70 });
    expect(new Set(Object.values(EXIT)).size).toBe(Object.keys(EXIT).length);
    expect(readFileSync(join(ROOT, 'README.md'), 'utf8')).toMatch(/70 is an internal error \(a bug/);
  });
});

describe('each error: its code and its message, no stack', () => {
  it('ConfigError: exit 1, the source and one problem a line', () => {
    const err = new ConfigError(['fault.latency: expected a duration', 'traffic.rps: at most 100000'], 'exp.yaml');
    expect(err).toBeInstanceOf(GamedayError);
    expect(err.message).toBe('exp.yaml: 2 problems');
    expect(err.format()).toBe('exp.yaml:\n  - fault.latency: expected a duration\n  - traffic.rps: at most 100000');
    expect(mapped(err)).toEqual({ code: 1, stderr: `${err.format()}\n` });
    expect(mapped(new ConfigError(['--rps: at most 100000'])).stderr).toBe('invalid configuration:\n  - --rps: at most 100000\n');
  });

  it('LedgerError: exit 1 (the ledger commands), its file, problem and advice on one line', () => {
    const err = new LedgerError('/s/ledger.sqlite', 'file is not a database', 'Move it aside', { cause: new Error('SQLITE_NOTADB') });
    expect(err.name).toBe('LedgerError');
    expect(err.cause).toBeInstanceOf(Error);
    const stderr = 'gameday: budget ledger /s/ledger.sqlite: file is not a database. Move it aside\n';
    expect(mapped(err)).toEqual({ code: EXIT.failed, stderr });
  });

  it('StopLatchedError: exit 2, a refusal', () => {
    const err = new StopLatchedError(0, 'ops@host (pid 7)');
    expect(mapped(err)).toEqual({
      code: EXIT.refused,
      stderr:
        'gameday: the emergency stop is latched (since 1970-01-01T00:00:00.000Z, by ops@host (pid 7)); ' +
        'no experiment starts until `gameday emergency-stop --clear`\n',
    });
  });

  it('StateDirError: exit 1', () => {
    const err = new StateDirError('state dir /x exists but is not a directory');
    expect(mapped(err)).toEqual({ code: 1, stderr: 'gameday: state dir /x exists but is not a directory\n' });
  });

  it('a GamedayError with a hint: the hint on a line of its own', () => {
    const err = new GamedayError('no such experiment', { exitCode: EXIT.refused, hint: 'run gameday budget-status' });
    expect(mapped(err)).toEqual({ code: 2, stderr: 'gameday: no such experiment\n  run gameday budget-status\n' });
    expect(new GamedayError('x').exitCode).toBe(EXIT.failed);
    expect('cause' in new GamedayError('x')).toBe(false);
  });

  it('printed redacted, control characters shown, one line each even when the message holds a newline', () => {
    const url = 'http://ops:hunter2@127.0.0.1:1';
    const err = new LedgerError(`/s\u001b[2J/ledger.sqlite`, `open failed for ${url}\nforged line`, 'retry');
    const { code, stderr } = mapped(err, makeRedactor(['s3cret-token']));
    expect(code).toBe(1);
    expect(stderr).toBe(
      'gameday: budget ledger /s\\x1b[2J/ledger.sqlite: open failed for http://ops:***@127.0.0.1:1\\nforged line. retry\n',
    );
    const configError = new ConfigError([`MY_TOKEN: "s3cret-token" is\nnot a number`], `exp ${url}.yaml`);
    const config = mapped(configError, makeRedactor(['s3cret-token']));
    expect(config.stderr).toBe('exp http://ops:***@127.0.0.1:1.yaml:\n  - MY_TOKEN: "***" is\\nnot a number\n');
    expect(config.stderr).not.toMatch(STACK);
  });
});

describe("cli.ts's mapping of anything else", () => {
  it('a plain Error is a bug: exit 70, with its stack, redacted and its control characters shown', () => {
    const bug = new Error('boom http://ops:hunter2@h \u001b]0;owned\u0007');
    const { code, stderr } = mapped(bug);
    expect(code).toBe(EXIT.internal);
    expect(stderr).toMatch(/^gameday: internal error: Error: boom http:\/\/ops:\*\*\*@h \\x1b\]0;owned\\x07\n\s+at /);
    expect(stderr).not.toContain('hunter2');
  });

  it('a thrown non-Error: exit 70, as text', () => {
    expect(mapped('just a string')).toEqual({ code: 70, stderr: 'gameday: internal error: just a string\n' });
  });

  it("commander's own: --help and --version 0, a usage mistake 1, nothing more printed (commander did)", () => {
    expect(mapped(new CommanderError(0, 'commander.helpDisplayed', '(outputHelp)'))).toEqual({ code: 0, stderr: '' });
    expect(mapped(new CommanderError(1, 'commander.unknownOption', "error: unknown option '--nope'"))).toEqual({ code: 1, stderr: '' });
  });

  it('printError, for commands with a stream of their own, lets a bug go on up', () => {
    const bug = new TypeError('x is undefined');
    expect(() => printError(bug, sink())).toThrow(bug);
  });
});

describe("run's rule: what a ledger failure means depends on how far the run got", () => {
  const ledger = new LedgerError('/s/ledger.sqlite', 'database is locked', 'retry');

  it('the ledger cannot be opened (or the state dir cannot hold it): refused, exit 2', () => {
    for (const cause of [ledger, new StateDirError('state dir /x is not writable')]) {
      const err = ledgerOpenError(cause) as GamedayError;
      expect(err.exitCode).toBe(2);
      expect(err.message).toBe(`refusing to run: ${cause.message}`);
      expect(err.cause).toBe(cause);
    }
  });

  it('a ledger error before the run started: refused, exit 2; after: faults may remain, exit 6', () => {
    expect(mapped(runError(ledger, false))).toEqual({ code: 2, stderr: `gameday: refusing to run: ledger error: ${ledger.message}\n` });
    expect(mapped(runError(ledger, true))).toEqual({ code: 6, stderr: `gameday: ledger error: ${ledger.message}\n` });
  });

  it('the emergency stop latched: refused, exit 2', () => {
    const latched = new StopLatchedError(0, 'ops');
    expect(mapped(runError(latched, false))).toEqual({ code: 2, stderr: `gameday: refusing to run: ${latched.message}\n` });
  });

  it('anything else keeps its own meaning: a ConfigError exit 1, a bug 70', () => {
    const config = new ConfigError(['--journal: a directory'], '--journal');
    const bug = new Error('bug');
    for (const started of [false, true]) {
      expect(runError(config, started)).toBe(config);
      expect(runError(bug, started)).toBe(bug);
      expect(ledgerOpenError(bug)).toBe(bug);
    }
  });
});
