// `gameday exporter`: the ledger as Prometheus metrics, between runs as well as during them. Read at
// scrape time, read-only, from one read transaction, with the numbers `budget-status --json` shows.
import { statSync, type Stats } from 'node:fs';
import { serveMetrics, type MetricsServer } from './metrics-server.ts';
import { join } from 'node:path';
import { Gauge, Registry } from 'prom-client';
import { buildBudgetStatus, type BudgetStatus } from '../budget/budget-status.ts';
import type { LedgerStore } from '../budget/ledger-store.ts';
import { describeTarget, openLedger, type LedgerTarget } from '../budget/open-ledger.ts';
import { LEDGER_FILE, Ledger } from '../budget/sqlite-ledger.ts';
import { ledgerErrorFrom } from '../budget/ledger-error.ts';
import { EXIT_CODE } from '../engine/events.ts';
import { EXIT } from '../errors/exit-codes.ts';
import { GamedayError } from '../errors/gameday-error.ts';

/** Every status an experiment can have in the ledger, so each is exported (0 where none). */
const STATUSES: readonly string[] = ['running', 'dead', ...Object.keys(EXIT_CODE)];

/** What one scrape shows. */
export interface LedgerReading {
  status: BudgetStatus;
  /** today's experiments (started this UTC day), by status */
  byStatus: Record<string, number>;
}

const sameInode = (a: Stats, b: Stats): boolean => a.dev === b.dev && a.ino === b.ino;
/** Unchanged since it was opened: any change outside SQLite's WAL (a checkpoint, or damage) calls for a new connection. */
const unchanged = (a: Stats, b: Stats): boolean =>
  sameInode(a, b) && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;

/**
 * Reads a state dir's ledger for the exporter. It keeps one read-only connection between scrapes,
 * and opens a new one when the file changed on disk other than through SQLite's WAL (a checkpoint;
 * or damage: moved aside, replaced, rewritten, truncated, re-moded) or after a read failed: so it
 * reads what `budget-status` would read now, not what an old file descriptor or page cache still
 * holds. A file it has not checked before gets open()'s integrity check (it reads every page: 6 ms
 * for 2.3 MB); the same file re-opened after a checkpoint gets the cheap checks only (header,
 * application id, schema, WAL), so that scrape stays cheap whatever the ledger's size. A state dir
 * without a ledger reads as an empty one; none is created.
 */
export class LedgerReader {
  private ledger: Ledger | null = null;
  /** the file as it was when the connection was opened */
  private opened: Stats | null = null;
  /** the file whose integrity was checked last; forgotten after any failure */
  private checked: Stats | null = null;

  constructor(
    readonly stateDir: string,
    /** the config's budget.dailyCapUsd, as budget-status takes it */
    private readonly dailyCapUsd: number | undefined,
    private readonly nowMs: () => number = Date.now,
  ) {}

  /** Throws a LedgerError when the ledger exists but cannot be read. */
  read(): LedgerReading {
    const nowMs = this.nowMs();
    try {
      const onDisk = fileStats(join(this.stateDir, LEDGER_FILE));
      if (this.ledger && (!onDisk || !unchanged(onDisk, this.opened!))) this.closeConnection();
      if (!onDisk) return { status: buildBudgetStatus(null, { ...this.statusOpts(nowMs), location: null }), byStatus: {} };
      const ledger = this.ledger ?? this.open(onDisk);
      // recentLimit 0: the recent-experiments list is budget-status's table, not a metric
      const snapshot = ledger.snapshot({ capUsd: this.dailyCapUsd, recentLimit: 0 });
      return { status: buildBudgetStatus(snapshot, { ...this.statusOpts(nowMs), location: ledger.file }), byStatus: snapshot.byStatus };
    } catch (err) {
      this.close(); // the next scrape opens, and fully checks, it afresh
      throw err;
    }
  }

  close(): void {
    this.closeConnection();
    this.checked = null;
  }

  private open(onDisk: Stats): Ledger {
    const integrityCheck = !(this.checked && sameInode(this.checked, onDisk));
    this.opened = onDisk; // stat before open: a file replaced in between differs from it at the next scrape
    this.ledger = Ledger.openReadOnly(this.stateDir, { integrityCheck });
    if (integrityCheck) this.checked = onDisk;
    return this.ledger;
  }

  private closeConnection(): void {
    this.ledger?.close();
    this.ledger = null;
    this.opened = null;
  }

  private statusOpts(nowMs: number) {
    return { stateDir: this.stateDir, nowMs, dailyCapUsd: this.dailyCapUsd, backend: 'sqlite' as const };
  }
}

/**
 * Reads a team ledger (PostgreSQL) for the exporter: one connection pool kept between scrapes,
 * opened again after a failure, each scrape one snapshot (one read transaction).
 */
export class StoreReader {
  private store: LedgerStore | null = null;

  constructor(
    private readonly target: LedgerTarget,
    private readonly stateDir: string,
    private readonly dailyCapUsd: number | undefined,
  ) {}

  async read(): Promise<LedgerReading> {
    try {
      this.store ??= await openLedger(this.target);
      const snapshot = await this.store.snapshot({ capUsd: this.dailyCapUsd, recentLimit: 0 });
      const status = buildBudgetStatus(snapshot, {
        stateDir: this.stateDir,
        location: describeTarget(this.target),
        backend: this.target.backend,
        dailyCapUsd: this.dailyCapUsd,
      });
      return { status, byStatus: snapshot.byStatus };
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  async close(): Promise<void> {
    const s = this.store;
    this.store = null;
    await s?.close().catch(() => {});
  }
}

/** The ledger file's stats, or null when there is none (as Ledger.exists: a missing state dir too). */
function fileStats(file: string): Stats | null {
  try {
    return statSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw ledgerErrorFrom(file, err, 'looking for the ledger');
  }
}

/** The exporter's metrics and its HTTP server. */
export class LedgerExporter {
  readonly registry = new Registry();
  private readonly gauge = (name: string, help: string, labelNames: string[] = []) =>
    new Gauge({ name, help, labelNames, registers: [this.registry] });
  private readonly up = this.gauge('gameday_ledger_up', '1 when the last scrape read the ledger (or found none), 0 when it could not');
  private readonly spent = this.gauge('gameday_ledger_spent_dollars', 'Money spent today (UTC), by scope', ['scope']);
  private readonly limit = this.gauge('gameday_ledger_limit_dollars', "Today's budget cap, by scope", ['scope']);
  private readonly reserved = this.gauge('gameday_ledger_reserved_dollars', 'Money held by running experiments, not yet spent');
  private readonly running = this.gauge('gameday_ledger_running_experiments', 'Experiments running (fresh heartbeat or not)');
  private readonly latched = this.gauge('gameday_emergency_stop_latched', '1 while the emergency stop is latched');
  private readonly experiments = this.gauge('gameday_ledger_experiments_total', 'Experiments started today (UTC), by status', ['status']);
  private lastProblem: string | null = null;
  private server: MetricsServer | null = null;

  constructor(
    private readonly reader: { read(): LedgerReading | Promise<LedgerReading> },
    /** a line for the operator when the ledger becomes unreadable, and when it is readable again */
    private readonly log: (line: string) => void = () => {},
  ) {}

  /**
   * One scrape: the ledger read once, the gauges set from that reading, the registry rendered.
   * Set here rather than in one collect callback per gauge: each callback would read the ledger
   * on its own, and the numbers of one scrape would not come from one state.
   */
  async metrics(): Promise<string> {
    this.apply(await this.readOrNull());
    return this.registry.metrics();
  }

  /**
   * A ledger that cannot be read is not a failed scrape (an HTTP 500 would make the exporter look
   * down, and take gameday_ledger_up with it): up is 0 and the ledger's series are left out, so a
   * dashboard shows a gap rather than a stale or zero spend. Said once per problem, not per scrape.
   */
  private async readOrNull(): Promise<LedgerReading | null> {
    try {
      const reading = await this.reader.read();
      if (this.lastProblem !== null) this.log('the ledger is readable again');
      this.lastProblem = null;
      return reading;
    } catch (err) {
      const problem =
        err instanceof GamedayError ? err.message : `internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`;
      if (problem !== this.lastProblem) this.log(`cannot read the ledger (its metrics are left out until it can): ${problem}`);
      this.lastProblem = problem;
      return null;
    }
  }

  private apply(r: LedgerReading | null): void {
    this.up.set(r ? 1 : 0);
    const ledgerGauges = [this.spent, this.limit, this.reserved, this.running, this.latched, this.experiments];
    for (const g of ledgerGauges) {
      g.reset();
      g.remove({}); // reset() leaves a 0 sample in a gauge without labels: no number at all instead
    }
    if (!r) return;
    const { day, stopLatch, running } = r.status;
    this.spent.set({ scope: 'day' }, day.spentUsd);
    if (day.capUsd !== null) this.limit.set({ scope: 'day' }, day.capUsd);
    this.reserved.set(day.reservedUsd);
    this.running.set(running.length);
    this.latched.set(stopLatch.latched ? 1 : 0);
    for (const s of new Set([...STATUSES, ...Object.keys(r.byStatus)])) this.experiments.set({ status: s }, r.byStatus[s] ?? 0);
  }

  /** Serves /metrics on host:port (0: a free port); resolves with the URL. A port in use is a GamedayError (exit 1). */
  async listen(host: string, port: number): Promise<string> {
    try {
      this.server = await serveMetrics({
        host,
        port,
        render: () => this.metrics(),
        contentType: this.registry.contentType,
        name: 'gameday exporter',
        onError: (err) => this.log(`serving: ${err.message}`),
      });
    } catch (err) {
      throw listenError(err as NodeJS.ErrnoException, host, port);
    }
    return this.server.url;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = null;
    await s?.close();
  }
}

function listenError(err: NodeJS.ErrnoException, host: string, port: number): GamedayError {
  const where = `${host}:${port}`;
  if (err.code === 'EADDRINUSE')
    return new GamedayError(`exporter: ${where} is in use`, { hint: 'Pass another --port (or stop what listens there)' });
  if (err.code === 'EACCES') return new GamedayError(`exporter: not allowed to listen on ${where}`, { hint: 'Pass a port above 1023' });
  return new GamedayError(`exporter: cannot listen on ${where}: ${err.message}`, {
    exitCode: EXIT.failed,
    hint: 'Check --host: an address of this machine, such as 127.0.0.1',
  });
}
