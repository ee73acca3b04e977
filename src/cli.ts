// gameday's command line. Each command lives in src/commands; this file only parses arguments and
// turns whatever a command threw into its exit code, in one place (src/errors/report.ts).
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { EXIT } from './errors/exit-codes.ts';
import { exitCodeFor } from './errors/report.ts';
import { printable } from './headless/printable.ts';
import { makeRedactor } from './headless/redact.ts';

// Everything printed about a mistake may echo input (a --target with its password, a value with ESC
// in it): redacted, control characters shown as escapes, newlines of the message itself kept.
const redact = makeRedactor();
const shown = (text: string): string => printable(redact(text), { lines: true });

const program = new Command();
program
  .name('gameday')
  .description('Budget-aware chaos engineering: one experiment at a time, rolled back the moment an SLO breaks.')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)')
  // commander echoes bad arguments (`unknown option '--target=http://u:pw@h'`); set before the
  // subcommands are added, which copy it
  .configureOutput({ writeErr: (text) => process.stderr.write(shown(text)) })
  .exitOverride();

const withCommon = (cmd: Command): Command =>
  cmd
    .option('--config <file>', 'config file overriding config/default.yaml')
    .option('--state-dir <dir>', 'ledger and journals (env GAMEDAY_STATE_DIR; default $XDG_STATE_HOME/gameday)')
    .option('--ledger <url>', 'team ledger: a postgres:// URL (env GAMEDAY_LEDGER_URL; default: the SQLite file in the state dir)');

let exitCode: number = EXIT.ok;

/** The options withCommon adds to every command. */
interface CommonOpts {
  config?: string;
  stateDir?: string;
  ledger?: string;
}

withCommon(
  program
    .command('run')
    .description('run one experiment (with no --target: the embedded demo)')
    .option('--experiment <file>', 'experiment file (YAML)')
    .option('--experiment-type <type>', 'a template from config/experiments: latency, errors, blackhole, reset, bandwidth, process-kill')
    .option('--target <url>', 'the service whose SLOs are guarded')
    .option('--budget <usd>', 'money this experiment may spend (≤ budget.maxExperimentUsd)')
    .option('--duration <duration>', 'how long the fault stays in, e.g. 2m')
    .option('--rps <n>', 'requests per second (at most 100000)')
    .option('--headless', 'no control room: text or NDJSON on stdout (also when stdout is not a terminal)')
    .addOption(new Option('--output <format>', 'headless output').choices(['text', 'json']).default('text'))
    .option('--journal <file>', 'where to write the journal (default: <state-dir>/journals/<id>.json)')
    .option('--metrics-port <port>', 'Prometheus /metrics port while the run lasts (0 = off)')
    .option('--operator <name>', 'who runs it, as budget-status shows it to the team (default: $USER)'),
).action(async (opts: import('./commands/run.ts').RunCommandOptions) => {
  const { runExperimentCommand } = await import('./commands/run.ts');
  exitCode = await runExperimentCommand(opts);
});

withCommon(
  program
    .command('emergency-stop')
    .description('halt every running experiment of this state dir, roll back, and latch')
    .option('--clear', 'clear the latch so experiments may start again')
    .option('--operator <name>', 'who stops them, as the latch records it (default: $USER)'),
).action(async (opts: CommonOpts & { clear?: boolean; operator?: string }) => {
  const { emergencyStopCommand } = await import('./commands/emergency-stop.ts');
  const { commandContext } = await import('./commands/common.ts');
  const { ledger } = commandContext(opts, 'emergency-stop');
  exitCode = await emergencyStopCommand({ ledger, clear: Boolean(opts.clear), operator: opts.operator });
});

withCommon(
  program
    .command('budget-status')
    .description("today's spend, the caps, what running experiments hold, the last experiments")
    .option('--json', 'stable JSON for scripts'),
).action(async (opts: CommonOpts & { json?: boolean }) => {
  const { budgetStatusCommand } = await import('./commands/budget-status.ts');
  const { commandContext } = await import('./commands/common.ts');
  const { config, budgetSources, stateDir, ledger } = commandContext(opts);
  const dailyCapUsd = config.budget.dailyCapUsd;
  exitCode = await budgetStatusCommand({
    stateDir,
    ledger,
    json: Boolean(opts.json),
    dailyCapUsd,
    config: { ...config.budget, sources: budgetSources },
  });
});

withCommon(
  program
    .command('exporter')
    .description("serve the ledger's budget to Prometheus, read-only, until SIGINT or SIGTERM")
    .option('--port <port>', '/metrics port (0: any free port, printed)', '9465')
    .option('--host <host>', 'address to listen on', '127.0.0.1'),
).action(async (opts: CommonOpts & { port: string; host: string }) => {
  const { exporterCommand } = await import('./commands/exporter.ts');
  const { commandContext } = await import('./commands/common.ts');
  const { config, stateDir, ledger } = commandContext(opts);
  exitCode = await exporterCommand({ stateDir, ledger, dailyCapUsd: config.budget.dailyCapUsd, host: opts.host, port: opts.port });
});

program
  .command('init')
  .description('write a commented experiment file to start from (default: experiment.yaml here)')
  .argument('[file]', 'where to write it (default: experiment.yaml in this directory)')
  .option('--type <type>', 'the fault: latency, errors, blackhole, reset, bandwidth, process-kill', 'latency')
  .option('--target <url>', 'the service whose SLOs are guarded (default: the embedded demo)')
  .option('--force', 'replace the file if it exists')
  .action(async (file: string | undefined, opts: { type: string; target?: string; force?: boolean }) => {
    const { initCommand } = await import('./commands/init.ts');
    exitCode = await initCommand(file, opts);
  });

withCommon(
  program.command('validate').description('check an experiment file; every problem by field path').argument('<file>', 'experiment file'),
).action(async (file: string, opts: CommonOpts) => {
  const { validateCommand } = await import('./commands/validate.ts');
  exitCode = await validateCommand(file, opts);
});

withCommon(
  program
    .command('drill')
    .description("run an experiment's rollback steps alone (no fault, no traffic): each checked, run and put back")
    .argument('<file>', 'experiment file')
    .option('--json', 'stable JSON for scripts'),
).action(async (file: string, opts: CommonOpts & { json?: boolean }) => {
  const { drillCommand } = await import('./commands/drill.ts');
  exitCode = await drillCommand(file, opts);
});

withCommon(
  program.command('recover').description('roll back experiments whose controller died (also done at the start of every run)'),
).action(async (opts: CommonOpts) => {
  const { recoverCommand } = await import('./commands/recover.ts');
  const { commandContext } = await import('./commands/common.ts');
  const { config, stateDir, ledger } = commandContext(opts, 'recover');
  const am = config.alertmanager;
  // the config file's Alertmanager too (the environment's is in config already)
  exitCode = await recoverCommand({ stateDir, ledger, alertmanager: am ? { urls: am.urls, resendEveryMs: am.resendEvery } : null });
});

withCommon(
  program
    .command('report')
    .description("render a finished experiment's journal as a game-day report (Markdown, or HTML with charts)")
    .argument('<journal>', 'journal file')
    .addOption(new Option('--format <format>', 'md, or html: one self-contained page with charts').choices(['md', 'html']).default('md'))
    .option('--out <file>', 'write the report there (0600, replaced whole; only an earlier report is overwritten) instead of stdout'),
).action(async (journal: string, opts: { format: string; out?: string }) => {
  const { reportCommand } = await import('./commands/report.ts');
  exitCode = await reportCommand(journal, { format: opts.format, out: opts.out });
});

program
  .command('replay')
  .description('play a journal back: the control room as the run showed it, or its events again (--output)')
  .argument('<journal>', 'journal file')
  .option('--speed <n>', 'times the recorded pace, 0.1 to 1000', '1')
  .addOption(new Option('--output <format>', 'headless: the events again as text or NDJSON').choices(['text', 'json']))
  .action(async (journal: string, opts: { speed: string; output?: string }) => {
    const { replayCommand } = await import('./commands/replay.ts');
    exitCode = await replayCommand(journal, opts);
  });

program
  .command('watchdog', { hidden: true })
  .requiredOption('--experiment-id <id>')
  .requiredOption('--state-dir <dir>')
  .action(async (opts: { stateDir: string; experimentId: string }) => {
    const { watchdogCommand } = await import('./commands/watchdog.ts');
    const { ledgerTarget } = await import('./budget/open-ledger.ts');
    // the run hands a team ledger's URL over in GAMEDAY_LEDGER_URL (spawnWatchdog), never in argv
    const ledger = ledgerTarget(resolve(opts.stateDir), process.env.GAMEDAY_LEDGER_URL || undefined);
    exitCode = await watchdogCommand({ ledger, experimentId: opts.experimentId });
  });

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // a GamedayError: its message, no stack, its code; commander's own: 0 or 1; anything else: a bug, 70
  exitCode = exitCodeFor(err, process.stderr, redact);
}
process.exitCode = exitCode;
// Anything still holding the event loop (a socket in TIME_WAIT handling, a stray timer) must not
// keep a finished command alive.
setTimeout(() => process.exit(exitCode), 200).unref();
