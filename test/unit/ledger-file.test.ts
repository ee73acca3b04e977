// The ledger file itself: created complete or not at all, a 0-byte file refused, and its -wal/-shm
// never readable by others, not even for the first connection after a 0644 ledger.
import Database from 'better-sqlite3';
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LEDGER_FILE, Ledger, LedgerError } from '../../src/budget/sqlite-ledger.ts';
import { GAMEDAY_APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION } from '../../src/budget/ledger-schema.ts';

let dir: string;
let stateDir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gameday-ledger-file-'));
  stateDir = join(dir, 'state');
  file = join(stateDir, LEDGER_FILE);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const mode = (f: string): number => statSync(f).mode & 0o777;

/** The main file's header as plain bytes: what another process sees before it opens SQLite. */
function header(f: string): { magic: string; wal: boolean; userVersion: number; applicationId: number } {
  const h = Buffer.alloc(100);
  const fd = openSync(f, 'r');
  try {
    readSync(fd, h, 0, 100, 0);
  } finally {
    closeSync(fd);
  }
  return {
    magic: h.subarray(0, 16).toString('latin1'),
    wal: h[18] === 2 && h[19] === 2,
    userVersion: h.readUInt32BE(60),
    applicationId: h.readUInt32BE(68),
  };
}

const openError = (): LedgerError => {
  try {
    Ledger.open(stateDir).close();
  } catch (err) {
    expect(err).toBeInstanceOf(LedgerError);
    return err as LedgerError;
  }
  throw new Error('Ledger.open succeeded');
};

describe('creating the ledger', () => {
  it('a new ledger file is complete from the moment it has its name: header with WAL and the schema version', () => {
    const ledger = Ledger.open(stateDir);
    try {
      // while the creating process still has it open, its header already says what it is
      expect(header(file)).toEqual({
        magic: 'SQLite format 3\0',
        wal: true,
        userVersion: SCHEMA_VERSION,
        applicationId: GAMEDAY_APPLICATION_ID,
      });
      expect(mode(file)).toBe(0o600);
      // no temp file left behind
      expect(readdirSync(stateDir).filter((f) => !f.startsWith(`${LEDGER_FILE}-`) && f !== LEDGER_FILE)).toEqual([]);
    } finally {
      ledger.close();
    }
    expect(readdirSync(stateDir)).toEqual([LEDGER_FILE]);
  });

  it('six processes opening a fresh state dir at once all succeed, on one ledger', async () => {
    const ledgerTs = resolve(import.meta.dirname, '../../src/budget/sqlite-ledger.ts');
    // each waits for "go" on stdin with tsx and the ledger module loaded, then opens and registers
    const script = `
      const { Ledger } = await import(${JSON.stringify(ledgerTs)});
      process.stdout.write('ready\\n');
      process.stdin.once('data', () => {
        const l = Ledger.open(${JSON.stringify(stateDir)});
        const e = l.registerExperiment({ name: 'opener', experimentCapUsd: 1, dailyCapUsd: 1, costPerRequestUsd: 0.001 });
        process.stdout.write('ok ' + e.id + '\\n');
        l.close();
        process.exit(0);
      });`;
    const children = Array.from({ length: 6 }, () => {
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      const ready = new Promise<void>((r) => child.stdout.on('data', () => out.includes('ready') && r()));
      const done = new Promise<{ code: number | null; out: string; err: string }>((r) =>
        child.on('close', (code, signal) => r({ code, out, err: err + String(signal) })),
      );
      return { child, ready, done };
    });
    await Promise.all(children.map((c) => c.ready));
    for (const c of children) c.child.stdin.write('go\n');
    const results = await Promise.all(children.map((c) => c.done));
    for (const r of results) expect(r.code, r.err).toBe(0);
    const ids = results.map((r) => r.out.match(/ok (\w+)/)![1]);
    const ledger = Ledger.open(stateDir);
    try {
      expect(new Set(ledger.recentExperiments(100).map((e) => e.id))).toEqual(new Set(ids));
    } finally {
      ledger.close();
    }
    expect(readdirSync(stateDir)).toEqual([LEDGER_FILE]);
  }, 60_000);
});

describe('refusing what is not a ledger', () => {
  it('a 0-byte ledger.sqlite is refused (damage, not a new ledger), left as it is, nothing created beside it', () => {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    writeFileSync(file, '', { mode: 0o600 });
    const err = openError();
    expect(err.message).toContain(file);
    expect(err.message).toMatch(/empty \(0 bytes\)/);
    expect(err.message).toMatch(/mv .*\.corrupt/);
    expect(statSync(file).size).toBe(0);
    expect(readdirSync(stateDir)).toEqual([LEDGER_FILE]);
  });

  it('a 0-byte ledger.sqlite with a non-empty -wal is refused too: SQLite would discard the -wal', () => {
    // a real -wal, copied from a connection that has not checkpointed yet
    const other = join(dir, 'other.sqlite');
    const src = new Database(other);
    src.pragma('journal_mode = WAL');
    src.pragma('wal_autocheckpoint = 0');
    src.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1)');
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const wal = readFileSync(`${other}-wal`);
    src.close();
    expect(wal.length).toBeGreaterThan(0);
    writeFileSync(file, '');
    writeFileSync(`${file}-wal`, wal);
    const err = openError();
    expect(err.message).toMatch(/empty \(0 bytes\).*-wal holds \d+ bytes/);
    expect(statSync(file).size).toBe(0);
    expect(readFileSync(`${file}-wal`).equals(wal)).toBe(true);
  });

  it('a short file that is not SQLite: not a database, left as it is', () => {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    writeFileSync(file, 'hello');
    expect(openError().message).toMatch(/not a database.*mv .*\.corrupt/);
    expect(readFileSync(file, 'utf8')).toBe('hello');
    expect(readdirSync(stateDir)).toEqual([LEDGER_FILE]);
  });

  it('a SQLite file that claims a schema version but lacks the tables is not a ledger', () => {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const db = new Database(file);
    db.exec('CREATE TABLE t (x)');
    db.pragma('user_version = 1');
    db.close();
    expect(openError().message).toMatch(/not a gameday ledger/);
    // refused before anything wrote to it
    expect(existsSync(`${file}-wal`)).toBe(false);
    const check = new Database(file, { readonly: true });
    expect(check.pragma('journal_mode', { simple: true })).toBe('delete');
    check.close();
  });
});

describe('modes', () => {
  it('a 0644 ledger opened once: ledger, -wal and -shm are all 0600', () => {
    Ledger.open(stateDir).close();
    chmodSync(file, 0o644);
    const ledger = Ledger.open(stateDir);
    try {
      ledger.registerExperiment({ name: 'x', experimentCapUsd: 1, dailyCapUsd: 1, costPerRequestUsd: 0.001 });
      for (const f of [file, `${file}-wal`, `${file}-shm`]) expect([f, mode(f).toString(8)]).toEqual([f, '600']);
    } finally {
      ledger.close();
    }
  });

  it('a 0644 ledger whose -wal and -shm were left 0644 too: all 0600 after the open', () => {
    Ledger.open(stateDir).close();
    // another connection keeps the -wal and -shm alive while the modes are loosened
    const holder = new Database(file);
    try {
      holder.exec('SELECT count(*) FROM experiments');
      for (const f of [file, `${file}-wal`, `${file}-shm`]) chmodSync(f, 0o644);
      Ledger.open(stateDir).close();
      for (const f of [file, `${file}-wal`, `${file}-shm`]) expect([f, mode(f).toString(8)]).toEqual([f, '600']);
    } finally {
      holder.close();
    }
  });
});

/** Opens the file with plain better-sqlite3 in another process, counts experiments, closes. */
function countInOtherProcess(f: string): number {
  const r = spawnSync(
    process.execPath,
    [
      '-e',
      `const D = require('better-sqlite3'); const d = new D(${JSON.stringify(f)}); console.log(d.prepare('SELECT count(*) FROM experiments').pluck().get()); d.close();`,
    ],
    {
      cwd: resolve(import.meta.dirname, '../..'),
      encoding: 'utf8',
    },
  );
  expect(r.status, r.stderr).toBe(0);
  return Number(r.stdout.trim());
}

describe('locks', () => {
  it("an open ledger keeps SQLite's locks: another process closing does not delete the -wal under it", () => {
    const spec = { name: 'x', experimentCapUsd: 1, dailyCapUsd: 1, costPerRequestUsd: 0.001 };
    const ledger = Ledger.open(stateDir);
    const second = Ledger.open(stateDir); // a second handle in one process must not drop the first's locks either
    try {
      ledger.registerExperiment(spec);
      second.close();
      const walIno = statSync(`${file}-wal`).ino;
      // a closing connection that can lock the file exclusively believes it is the last one: it
      // checkpoints and deletes the -wal and -shm, and this connection's next writes would go to a
      // deleted file
      expect(countInOtherProcess(file)).toBe(1);
      expect(existsSync(`${file}-wal`)).toBe(true);
      expect(statSync(`${file}-wal`).ino).toBe(walIno);
      ledger.registerExperiment(spec);
      expect(countInOtherProcess(file)).toBe(2);
    } finally {
      second.close();
      ledger.close();
    }
  });
});

describe('schema v2', () => {
  it('a v1 ledger (made before rollback claims) migrates: claim columns, application id, data kept', () => {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.exec(MIGRATIONS[0]);
    db.pragma('user_version = 1');
    db.exec(`INSERT INTO experiments (id, name, pid, host, started_ms, phase, status, heartbeat_ms, cost_micros, experiment_cap_micros, daily_cap_micros)
             VALUES ('abcd0123', 'old', 1, 'h', 1, 'done', 'passed', 1, 1000, 1, 1)`);
    db.close();
    chmodSync(file, 0o644);
    const ledger = Ledger.open(stateDir);
    try {
      expect(ledger.experiment('abcd0123')?.name).toBe('old');
      expect(ledger.rollbackClaim('abcd0123')).toBeNull();
      expect(mode(file)).toBe(0o600);
    } finally {
      ledger.close();
    }
    const check = new Database(file, { readonly: true });
    try {
      expect(check.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      expect(check.pragma('application_id', { simple: true })).toBe(GAMEDAY_APPLICATION_ID);
      const cols = (check.pragma('table_info(experiments)') as Array<{ name: string }>).map((c) => c.name);
      expect(cols).toEqual(
        expect.arrayContaining(['rollback_claim_host', 'rollback_claim_pid', 'rollback_claim_ms', 'rollback_lease_until_ms']),
      );
    } finally {
      check.close();
    }
    expect(existsSync(file)).toBe(true);
  });
});
