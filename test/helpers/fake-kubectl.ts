// A STAND-IN for kubectl, not kubectl: no Kubernetes cluster can run on the machines these tests run
// on. It is a small node script named `kubectl`, written into a temp dir that a test puts first on
// PATH (or names through opts.kubectl / GAMEDAY_KUBECTL). It appends each call's argv to a log, and
// answers from a scenario (which contexts exist, what can-i says, how the rollout goes) with kubectl's
// own outputs, recorded from a real kubectl into test/fixtures/kubectl/ (the README there says how).
// What it proves: the argv gameday sends and how gameday reads kubectl's answers; not that a real
// cluster restarts anything.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const FIXTURES = fileURLToPath(new URL('../fixtures/kubectl/', import.meta.url));

export interface KubectlScenario {
  /** what `config get-contexts -o name` lists; a `--context` not in it fails as kubectl does */
  contexts: string[];
  /** unauthorized: kubectl cannot ask at all (expired credentials) */
  canI: 'yes' | 'no' | 'unauthorized';
  restart: 'ok' | 'not-found';
  /**
   * complete: the rollout finishes; fail: it exceeds its progress deadline; timeout: it does not
   * finish and kubectl gives up at its --timeout; hang: kubectl never comes back (as a real one did
   * when the API server stopped answering its watch: it ignored its --timeout)
   */
  rollout: 'complete' | 'fail' | 'timeout' | 'hang';
}

export interface StandInKubectl {
  /** the directory holding `kubectl`, to put first on PATH */
  dir: string;
  /** the stand-in's absolute path */
  program: string;
  /** changes the answers of the calls that come after */
  setScenario(changes: Partial<KubectlScenario>): void;
  /** every call's argv (without the program), in order */
  calls(): string[][];
  remove(): void;
}

/** Deliberately plain CommonJS: it runs as its own process, with no package.json next to it. */
const SCRIPT = `#!/usr/bin/env node
// STAND-IN kubectl for gameday's tests (no cluster can run here): logs argv, answers from a scenario.
'use strict';
const fs = require('fs');
const path = require('path');
const FIXTURES = ${JSON.stringify(FIXTURES)};
const scenario = JSON.parse(fs.readFileSync(path.join(__dirname, 'scenario.json'), 'utf8'));
const argv = process.argv.slice(2);
fs.appendFileSync(path.join(__dirname, 'calls.log'), JSON.stringify(argv) + '\\n');

let context, namespace;
const rest = [];
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--context') context = argv[++i];
  else if (a.startsWith('--context=')) context = a.slice('--context='.length);
  else if (a === '-n' || a === '--namespace') namespace = argv[++i];
  else if (a.startsWith('--namespace=')) namespace = a.slice('--namespace='.length);
  else rest.push(a);
}
const resource = rest.find((a) => a.startsWith('deployment/')) || 'deployment/checkout';
const deployment = resource.slice('deployment/'.length);
// the fixtures were recorded for deployment "checkout" and a missing context "nosuch"
const fixture = (name) =>
  fs.readFileSync(path.join(FIXTURES, name), 'utf8').replace(/checkout/g, deployment).replace(/nosuch/g, String(context));
const fail = (text) => { process.stderr.write(text); process.exitCode = 1; };
const durationMs = (flag) => {
  const m = /^--timeout=(\\d+)(ms|s|m)$/.exec(flag || '');
  return m ? Number(m[1]) * { ms: 1, s: 1000, m: 60000 }[m[2]] : null;
};

function rolloutStatus() {
  switch (scenario.rollout) {
    case 'complete':
      return process.stdout.write(fixture('rollout-status-complete.stdout'));
    case 'fail':
      process.stdout.write(fixture('rollout-status-progress-deadline.stdout'));
      return fail(fixture('rollout-status-progress-deadline.stderr'));
    case 'timeout': {
      process.stdout.write(fixture('rollout-status-stuck.stdout'));
      const ms = durationMs(rest.find((a) => a.startsWith('--timeout=')));
      // without --timeout kubectl waits for ever
      return setTimeout(() => fail(fixture('rollout-status-timeout.stderr')), ms === null ? 600000 : ms);
    }
    case 'hang':
      // what kubectl did when the API server stopped answering its watch: no exit at --timeout
      process.stdout.write(fixture('rollout-status-silent.stdout'));
      return setTimeout(() => {}, 600000);
  }
}

if (context !== undefined && rest[0] !== 'config' && !scenario.contexts.includes(context)) {
  fail(fixture('context-not-found.stderr'));
} else if (rest[0] === 'config' && rest[1] === 'get-contexts' && rest.includes('name')) {
  process.stdout.write(scenario.contexts.map((c) => c + '\\n').join(''));
} else if (rest[0] === 'auth' && rest[1] === 'can-i') {
  if (scenario.canI === 'unauthorized') fail(fixture('auth-can-i-unauthorized.stderr'));
  else process.stdout.write(fixture(scenario.canI === 'yes' ? 'auth-can-i-yes.stdout' : 'auth-can-i-no.stdout'));
  if (scenario.canI === 'no') process.exitCode = 1;
} else if (rest[0] === 'rollout' && rest[1] === 'restart') {
  if (scenario.restart === 'ok') process.stdout.write(fixture('rollout-restart.stdout'));
  else fail(fixture('rollout-restart-not-found.stderr'));
} else if (rest[0] === 'rollout' && rest[1] === 'status') {
  rolloutStatus();
} else {
  fail('error: unknown command "' + rest.join(' ') + '" for "kubectl"\\n');
}
`;

/** The contexts the recorded `config get-contexts -o name` lists: kind-gameday, prod-eu-west-1, staging. */
export function recordedContexts(): string[] {
  return readFileSync(join(FIXTURES, 'config-get-contexts-o-name.stdout'), 'utf8').split('\n').filter(Boolean);
}

/** Writes a stand-in kubectl into a fresh temp dir; remove() deletes it. */
export function installStandInKubectl(scenario: Partial<KubectlScenario> = {}): StandInKubectl {
  const dir = mkdtempSync(join(tmpdir(), 'gameday-standin-kubectl-'));
  const program = join(dir, 'kubectl');
  const log = join(dir, 'calls.log');
  let current: KubectlScenario = { contexts: recordedContexts(), canI: 'yes', restart: 'ok', rollout: 'complete', ...scenario };
  const save = () => writeFileSync(join(dir, 'scenario.json'), JSON.stringify(current));
  save();
  writeFileSync(log, '');
  writeFileSync(program, SCRIPT);
  chmodSync(program, 0o755);
  return {
    dir,
    program,
    setScenario(changes) {
      current = { ...current, ...changes };
      save();
    },
    calls: () =>
      readFileSync(log, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as string[]),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
