// gameday exporter [--port 9465] [--host 127.0.0.1]: the ledger's budget as Prometheus metrics, for
// dashboards between runs. Long-lived and read-only (src/telemetry/ledger-exporter.ts); SIGINT,
// SIGTERM or SIGHUP close it (exit 0). A port in use, or a bad --port, is exit 1.
import * as z from 'zod';
import { describeTarget, ledgerTarget, type LedgerTarget } from '../budget/open-ledger.ts';
import { parseNumberFlag } from '../config/load.ts';
import { EXIT, type ExitCode } from '../errors/exit-codes.ts';
import { LedgerExporter, LedgerReader, StoreReader } from '../telemetry/ledger-exporter.ts';
import { shownWriter } from './common.ts';

/** 0 asks the kernel for a free port (printed): for tests and side-by-side exporters. */
const exporterPort = z
  .number()
  .int('a whole number')
  .min(0, 'expected a port 0–65535 (0 = any free port)')
  .max(65535, 'expected a port 0–65535 (0 = any free port)');

const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** The first stop signal, caught from now on (its default would end the process without closing). */
function nextStopSignal(): { signal: Promise<NodeJS.Signals>; release(): void } {
  let handler: (sig: NodeJS.Signals) => void = () => {};
  const signal = new Promise<NodeJS.Signals>((resolve) => (handler = resolve));
  for (const sig of STOP_SIGNALS) process.on(sig, handler);
  return { signal, release: () => STOP_SIGNALS.forEach((sig) => process.off(sig, handler)) };
}

export async function exporterCommand(opts: {
  stateDir: string;
  /** default: the state dir's SQLite ledger, read-only */
  ledger?: LedgerTarget;
  /** the config's budget.dailyCapUsd, as budget-status shows it */
  dailyCapUsd?: number;
  host: string;
  port: string;
  out?: NodeJS.WritableStream;
  err?: NodeJS.WritableStream;
}): Promise<ExitCode> {
  const port = parseNumberFlag('--port', opts.port, exporterPort);
  const out = shownWriter(opts.out ?? process.stdout);
  const err = shownWriter(opts.err ?? process.stderr);
  const target = opts.ledger ?? ledgerTarget(opts.stateDir, undefined);
  const reader =
    target.backend === 'sqlite'
      ? new LedgerReader(opts.stateDir, opts.dailyCapUsd)
      : new StoreReader(target, opts.stateDir, opts.dailyCapUsd);
  const exporter = new LedgerExporter(reader, (line) => err.write(`gameday exporter: ${line}\n`));
  const stop = nextStopSignal();
  try {
    const url = await exporter.listen(opts.host, port);
    out.write(`gameday exporter: serving ${url} from ${describeTarget(target)} (read-only)\n`);
    await exporter.metrics(); // a ledger that cannot be read is said now, not at the first scrape
    const sig = await stop.signal;
    err.write(`gameday exporter: ${sig}: closed\n`);
    return EXIT.ok;
  } finally {
    stop.release();
    await exporter.close();
    await reader.close();
  }
}
