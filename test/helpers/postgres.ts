// A throwaway PostgreSQL cluster per test file: initdb into a fresh temp dir, a random port on
// 127.0.0.1, its unix socket in that dir, stopped and deleted afterwards. Never a system cluster.
// initdb refuses to run as root, so as root the server's programs run as the `postgres` user
// (runuser, argv arrays: no shell). The ledger connects over TCP with a password (scram-sha-256)
// full of characters a URL must encode, so tests can prove it never leaks; the admin connection
// (sql(), createDatabase) uses the unix socket with trust auth.
// Missing binaries fail the suite with the line that installs them, rather than skipping.
import { execFile, spawnSync } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { beforeAll, describe } from 'vitest';
import { freePort } from './monitoring.ts';

/** The role the ledger logs in as (it owns each test database), and its password. */
export const PG_USER = 'gameday';
export const PG_PASSWORD = `s3cr"et p@ss:w/rd'#?%&=x`;
const ADMIN = 'postgres';
const INSTALL = 'apt-get install postgresql';
/** Bounds for the cluster's programs: a hung pg_ctl fails the test instead of hanging it. */
const INITDB_TIMEOUT_MS = 60_000;
const PG_CTL_TIMEOUT_S = 30;

const asRoot = (): boolean => process.getuid?.() === 0;
/** how root runs initdb and pg_ctl as `postgres` (util-linux) */
const RUNUSER = '/usr/sbin/runuser';

/** The highest /usr/lib/postgresql/<version>/bin that has the server's programs, or null. */
function postgresBinDir(): string | null {
  const root = '/usr/lib/postgresql';
  let versions: string[];
  try {
    versions = readdirSync(root).filter((v) => /^\d+(\.\d+)?$/.test(v));
  } catch {
    return null;
  }
  const dirs = versions.sort((a, b) => Number(b) - Number(a)).map((v) => join(root, v, 'bin'));
  return dirs.find((d) => ['initdb', 'pg_ctl', 'postgres', 'pg_dump'].every((b) => existsSync(join(d, b)))) ?? null;
}

/** Why no cluster can be started here (with the install line), or null. */
function missingPostgres(): string | null {
  if (!postgresBinDir()) return `PostgreSQL server programs (initdb, pg_ctl under /usr/lib/postgresql/*/bin) not installed: ${INSTALL}`;
  if (asRoot() && !existsSync(RUNUSER)) return `running as root needs ${RUNUSER} to run initdb as ${ADMIN}: apt-get install util-linux`;
  if (asRoot() && spawnSync('id', ['-u', ADMIN]).status !== 0)
    return `running as root needs the ${ADMIN} user (initdb refuses root): ${INSTALL}`;
  return null;
}

/** A describe() that needs PostgreSQL's server programs: fails with the install line when they are missing. */
export function describeWithPostgres(name: string, fn: () => void): void {
  describe(name, () => {
    beforeAll(() => {
      const missing = missingPostgres();
      if (missing) throw new Error(missing);
    });
    fn();
  });
}

/** The command line that runs one of the server's programs: as `postgres` when we are root. */
function pgCommand(bin: string, args: string[]): [string, string[]] {
  return asRoot() ? [RUNUSER, ['-u', ADMIN, '--', bin, ...args]] : [bin, args];
}
/** Runs one of the server's programs, bounded by `timeoutMs`. */
function runPg(bin: string, args: string[], timeoutMs: number): Promise<string> {
  const [cmd, argv] = pgCommand(bin, args);
  return new Promise((resolve, reject) => {
    execFile(cmd, argv, { timeout: timeoutMs, killSignal: 'SIGKILL', env: { ...process.env, LC_ALL: 'C' } }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${bin} ${args.join(' ')} failed: ${err.message}\n${stderr}${stdout}`));
      else resolve(stdout);
    });
  });
}

export interface Pg {
  port: number;
  dir: string;
  /** The ledger's URL for database `db`: the gameday role and its password, percent-encoded. */
  url(db?: string): string;
  /** A fresh, empty database owned by the gameday role; returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Rows of `query`, run as the superuser over the unix socket. */
  sql<R extends pg.QueryResultRow = Record<string, unknown>>(query: string, db?: string): Promise<R[]>;
  /** pg_dump of `db` (schema and data), to compare states. */
  dump(db: string): Promise<string>;
  stop(mode: 'fast' | 'immediate'): Promise<void>;
  /** Start again after stop(): same port, same data dir. */
  start(): Promise<void>;
  /** the server's log so far */
  log(): string;
  close(): Promise<void>;
}

/** Clusters still running, stopped when the test process exits however it exits. */
const running = new Set<{ binDir: string; data: string }>();
process.once('exit', () => {
  for (const c of running) {
    const [cmd, argv] = pgCommand(join(c.binDir, 'pg_ctl'), ['-D', c.data, '-m', 'immediate', '-w', '-t', '10', 'stop']);
    spawnSync(cmd, argv, { timeout: 15_000 });
  }
});

async function initCluster(binDir: string, dir: string, data: string): Promise<void> {
  if (asRoot()) {
    const uid = Number(spawnSync('id', ['-u', ADMIN]).stdout.toString().trim());
    const gid = Number(spawnSync('id', ['-g', ADMIN]).stdout.toString().trim());
    chownSync(dir, uid, gid);
  }
  const initdb = [
    ...['-D', data, '-U', ADMIN, '--auth-local=trust', '--auth-host=scram-sha-256'],
    ...['--no-locale', '-E', 'UTF8', '--no-sync', '--no-instructions'],
  ];
  await runPg(join(binDir, 'initdb'), initdb, INITDB_TIMEOUT_MS);
}

/** Start a fresh cluster. Throws with the install line when PostgreSQL is not installed. */
export async function startPostgres(): Promise<Pg> {
  const missing = missingPostgres();
  if (missing) throw new Error(missing);
  const binDir = postgresBinDir()!;
  const dir = mkdtempSync(join(tmpdir(), 'gameday-pg-'));
  const data = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  const entry = { binDir, data };
  let port = 0;
  let up = false;
  const pgCtl = (args: string[]) => runPg(join(binDir, 'pg_ctl'), ['-D', data, ...args], (PG_CTL_TIMEOUT_S + 5) * 1000);
  const start = async () => {
    await pgCtl(['-l', logFile, '-w', '-t', String(PG_CTL_TIMEOUT_S), 'start']);
    up = true;
    running.add(entry);
  };
  const stop = async (mode: 'fast' | 'immediate') => {
    await pgCtl(['-m', mode, '-w', '-t', String(PG_CTL_TIMEOUT_S), 'stop']);
    up = false;
    running.delete(entry);
  };
  const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  const sql = async <R extends pg.QueryResultRow>(query: string, db = 'postgres'): Promise<R[]> => {
    const client = new pg.Client({ host: dir, port, user: ADMIN, database: db, connectionTimeoutMillis: 10_000, query_timeout: 30_000 });
    client.on('error', () => {}); // a server stopped under it: the query already failed
    await client.connect();
    try {
      return (await client.query<R>(query)).rows;
    } finally {
      await client.end();
    }
  };
  const close = async () => {
    if (up) await stop('immediate').catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await initCluster(binDir, dir, data);
    // a port the kernel just had free may be taken by the time the server binds it: try another
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      const conf = [`listen_addresses = '127.0.0.1'`, `port = ${port}`, `unix_socket_directories = '${dir}'`, 'shared_buffers = 32MB'];
      appendFileSync(join(data, 'postgresql.conf'), `\n${conf.join('\n')}\n`);
      try {
        await start();
        break;
      } catch (err) {
        if (attempt >= 3) throw new Error(`${(err as Error).message}\n${log().slice(-2000)}`, { cause: err });
      }
    }
    const quoted = PG_PASSWORD.replaceAll("'", "''");
    await sql(`CREATE ROLE ${PG_USER} LOGIN PASSWORD '${quoted}'`);
  } catch (err) {
    await close();
    throw err;
  }
  const url = (db = 'postgres') => `postgresql://${PG_USER}:${encodeURIComponent(PG_PASSWORD)}@127.0.0.1:${port}/${db}`;
  return {
    get port() {
      return port;
    },
    dir,
    url,
    createDatabase: async (name) => {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain database name: ${name}`);
      await sql(`CREATE DATABASE "${name}" OWNER ${PG_USER}`);
      return url(name);
    },
    sql,
    dump: async (db) => {
      // as the server's user, over its socket (trust), to stdout
      const out = await runPg(join(binDir, 'pg_dump'), ['-h', dir, '-p', String(port), '-U', ADMIN, '--no-password', db], 30_000);
      // newer pg_dumps fence the script with a random key (\restrict KEY): not part of the database
      return out.replace(/^\\(un)?restrict .*$/gm, '');
    },
    stop,
    start,
    log,
    close,
  };
}
