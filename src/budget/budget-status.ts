// What `gameday budget-status` shows: today's spend and cap, what running experiments hold, the
// last experiments. One object feeds both faces: the JSON is that object, the table is drawn from it.
import { toMicros, fromMicros } from './budget.ts';
import { HEARTBEAT_STALE_MS, utcDate, type LedgerBackend, type LedgerSnapshot } from './ledger-store.ts';
import { describeSource, type BudgetSources } from '../config/sources.ts';
import { printable } from '../headless/printable.ts';
import { makeRedactor, redactedJson } from '../headless/redact.ts';

/** Stable for scripts: fields are only ever added. Money in USD, times as ISO-8601 UTC. */
export interface BudgetStatus {
  stateDir: string;
  /** the ledger: its file, or its PostgreSQL URL without the password; null when this state dir has no SQLite ledger yet */
  ledger: string | null;
  backend: LedgerBackend;
  day: {
    date: string;
    spentUsd: number;
    reservedUsd: number;
    /** null when neither the config nor any experiment says what it is */
    capUsd: number | null;
    remainingUsd: number | null;
  };
  stopLatch: { latched: boolean; at: string | null; by: string | null };
  /** the budget settings this command loaded, and which layer set each (null when given none) */
  config: BudgetConfig | null;
  running: Array<{
    id: string;
    name: string;
    pid: number;
    host: string;
    /** who runs it; null for experiments recorded before the ledger kept it */
    operator: string | null;
    phase: string;
    /** by the ledger's clock */
    heartbeatAgeMs: number;
    /** heartbeat older than the dead-man threshold: the controller may have died */
    stale: boolean;
    reservedUsd: number;
    spentUsd: number;
    experimentCapUsd: number;
  }>;
  /** dead controllers whose rollback plan has not run yet: `gameday recover` on `host` runs it */
  awaitingRecover: Array<{ id: string; name: string; host: string; pid: number; operator: string | null; diedAt: string | null }>;
  experiments: Array<{
    id: string;
    name: string;
    status: string;
    spentUsd: number;
    startedAt: string;
    endedAt: string | null;
    pid: number;
    host: string;
    operator: string | null;
  }>;
}

/** The config's three budget numbers and their sources (src/config/sources.ts). */
export interface BudgetConfig {
  costPerRequestUsd: number;
  maxExperimentUsd: number;
  dailyCapUsd: number;
  sources: BudgetSources;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** What budget-status shows, from one snapshot of the ledger (null: this state dir has no ledger yet). */
export function buildBudgetStatus(
  snapshot: LedgerSnapshot | null,
  opts: { stateDir: string; location: string | null; backend: LedgerBackend; nowMs?: number; dailyCapUsd?: number; config?: BudgetConfig },
): BudgetStatus {
  const config = opts.config ?? null;
  if (!snapshot) {
    const capUsd = opts.dailyCapUsd ?? null;
    return {
      stateDir: opts.stateDir,
      ledger: opts.location,
      backend: opts.backend,
      day: { date: utcDate(opts.nowMs ?? Date.now()), spentUsd: 0, reservedUsd: 0, capUsd, remainingUsd: capUsd },
      stopLatch: { latched: false, at: null, by: null },
      config,
      running: [],
      awaitingRecover: [],
      experiments: [],
    };
  }
  const { day, latch, clockMs } = snapshot;
  return {
    stateDir: opts.stateDir,
    ledger: opts.location,
    backend: opts.backend,
    day: {
      ...day,
      remainingUsd: day.capUsd === null ? null : fromMicros(toMicros(day.capUsd) - toMicros(day.spentUsd) - toMicros(day.reservedUsd)),
    },
    stopLatch: { latched: latch.latched, at: latch.atMs === undefined ? null : iso(latch.atMs), by: latch.by ?? null },
    config,
    running: snapshot.running.map((e) => ({
      id: e.id,
      name: e.name,
      pid: e.pid,
      host: e.host,
      operator: e.operator,
      phase: e.phase,
      heartbeatAgeMs: Math.max(0, clockMs - e.heartbeatMs),
      stale: clockMs - e.heartbeatMs > HEARTBEAT_STALE_MS,
      reservedUsd: e.reservedUsd,
      spentUsd: e.spentUsd,
      experimentCapUsd: e.experimentCapUsd,
    })),
    awaitingRecover: snapshot.awaitingRollback.map((e) => ({
      id: e.id,
      name: e.name,
      host: e.host,
      pid: e.pid,
      operator: e.operator,
      diedAt: e.endedMs === null ? null : iso(e.endedMs),
    })),
    experiments: snapshot.recent.map((e) => ({
      id: e.id,
      name: e.name,
      status: e.status,
      spentUsd: e.spentUsd,
      startedAt: iso(e.startedMs),
      endedAt: e.endedMs === null ? null : iso(e.endedMs),
      pid: e.pid,
      host: e.host,
      operator: e.operator,
    })),
  };
}

/** Cents when the amount is whole cents, else down to the micro-dollar ($0.001 requests add up in thousandths). */
export function formatUsd(usd: number): string {
  if (toMicros(usd) % 10_000 === 0) return `$${usd.toFixed(2)}`;
  return `$${usd.toFixed(6).replace(/0+$/, '')}`;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => '  ' + cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

const ageText = (ms: number): string => (ms < 10_000 ? `${(ms / 1000).toFixed(1)}s ago` : `${Math.round(ms / 1000)}s ago`);
const shortTime = (isoText: string): string => isoText.replace('T', ' ').slice(0, 19);

/**
 * The table for people. Names, hosts and who latched the stop come from the ledger as whoever wrote
 * them typed them: each cell is redacted and shown without control characters (an ESC or a newline
 * in a name would steer the terminal or break the table).
 */
export function formatBudgetStatus(status: BudgetStatus, redact: (text: string) => string = makeRedactor()): string {
  const s = shownStatus(status, redact);
  const out: string[] = [];
  const cap = s.day.capUsd === null ? '(no daily cap recorded yet)' : `of ${formatUsd(s.day.capUsd)} daily cap`;
  out.push(`Budget for ${s.day.date} (UTC)`);
  out.push(`  spent      ${formatUsd(s.day.spentUsd)} ${cap}`);
  out.push(
    `  reserved   ${formatUsd(s.day.reservedUsd)} held by ${s.running.length} running experiment${s.running.length === 1 ? '' : 's'}`,
  );
  if (s.day.remainingUsd !== null) out.push(`  remaining  ${formatUsd(s.day.remainingUsd)}`);
  out.push(
    s.stopLatch.latched
      ? `  EMERGENCY STOP LATCHED since ${s.stopLatch.at} by ${s.stopLatch.by}: no experiment starts until \`gameday emergency-stop --clear\``
      : '  emergency stop: not latched',
  );
  out.push('');
  if (s.config) {
    const c = s.config;
    out.push('Settings (defaults < --config < environment < flags: the layer that set each)');
    out.push(
      table(
        ['SETTING', 'VALUE', 'FROM'],
        [
          ['daily cap', formatUsd(c.dailyCapUsd), describeSource(c.sources.dailyCapUsd)],
          ['experiment cap (max)', formatUsd(c.maxExperimentUsd), describeSource(c.sources.maxExperimentUsd)],
          ['cost per request', formatUsd(c.costPerRequestUsd), describeSource(c.sources.costPerRequestUsd)],
        ],
      ),
    );
  }
  if (s.running.length > 0) {
    out.push('Running');
    out.push(
      table(
        ['ID', 'NAME', 'OPERATOR', 'HOST', 'PID', 'PHASE', 'HELD', 'SPENT', 'HEARTBEAT'],
        s.running.map((r) => [
          r.id,
          r.name,
          r.operator ?? '-',
          r.host,
          String(r.pid),
          r.phase,
          formatUsd(r.reservedUsd),
          formatUsd(r.spentUsd),
          ageText(r.heartbeatAgeMs) + (r.stale ? ' (stale)' : ''),
        ]),
      ),
    );
  }
  if (s.awaitingRecover.length > 0) {
    out.push('Dead, awaiting recover (run `gameday recover` on the host named: the fault was injected there)');
    out.push(
      table(
        ['ID', 'NAME', 'OPERATOR', 'HOST', 'PID', 'DIED (UTC)'],
        s.awaitingRecover.map((d) => [d.id, d.name, d.operator ?? '-', d.host, String(d.pid), d.diedAt ? shortTime(d.diedAt) : '-']),
      ),
    );
  }
  if (s.experiments.length === 0) {
    out.push(s.ledger === null ? `No experiments yet (no ledger in ${s.stateDir}).` : 'No experiments yet.');
  } else {
    out.push(`Last ${s.experiments.length} experiment${s.experiments.length === 1 ? '' : 's'}`);
    out.push(
      table(
        ['ID', 'NAME', 'OPERATOR', 'HOST', 'STARTED (UTC)', 'STATUS', 'SPENT'],
        s.experiments.map((e) => [e.id, e.name, e.operator ?? '-', e.host, shortTime(e.startedAt), e.status, formatUsd(e.spentUsd)]),
      ),
    );
  }
  if (s.ledger) out.push(`ledger: ${s.ledger}`);
  return out.join('\n') + '\n';
}

/** The same status with every string redacted and made printable, before it is laid out. */
function shownStatus(s: BudgetStatus, redact: (text: string) => string): BudgetStatus {
  return JSON.parse(JSON.stringify(s, (_key, v: unknown) => (typeof v === 'string' ? printable(redact(v)) : v))) as BudgetStatus;
}

/** `budget-status --json`: the status with every string redacted (the JSON stays the same shape). */
export function budgetStatusJson(s: BudgetStatus, redact: (text: string) => string = makeRedactor()): string {
  return redactedJson(s, redact, 2) + '\n';
}
