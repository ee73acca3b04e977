// The resolved plan of one run: the config and the experiment, with flags applied and every
// number in its unit. The engine takes only this.
import { ConfigError } from './errors.ts';
import {
  experimentTypeFile,
  loadConfigWithSources,
  loadExperimentFile,
  parseDurationFlag,
  parseNumberFlag,
  parseTextFlag,
} from './load.ts';
import { ledgerUrl, metricsPort, rps, usd } from './bounds.ts';
import { operatorName } from '../budget/identity.ts';
import { formatDurationMs } from './duration.ts';
import type { Config, Experiment, FaultSpec, PromqlGuardSpec, RollbackStep } from './schema.ts';
import type { BudgetSources, RunBudget, SettingSource } from './sources.ts';
import type { SloThresholds } from '../engine/slis.ts';

export interface RunFlags {
  experiment?: string;
  experimentType?: string;
  target?: string;
  budget?: string;
  duration?: string;
  rps?: string;
  config?: string;
  stateDir?: string;
  metricsPort?: string;
  /** the team ledger's PostgreSQL URL */
  ledger?: string;
  operator?: string;
}

export interface RunPlan {
  /** where the experiment came from (file path or template name) */
  source: string;
  name: string;
  /** undefined: the embedded demo */
  targetUrl: string | undefined;
  healthPath: string;
  traffic: { rps: number; path: string; method: 'GET' | 'HEAD' | 'POST'; timeoutMs: number; maxInFlight: number };
  fault: FaultSpec;
  rollback: RollbackStep[];
  slo: SloThresholds & {
    windowMs: number;
    evaluateEveryMs: number;
    minSamples: number;
    /** PromQL guards */
    queries: PromqlGuardSpec[];
    inconclusiveLimit: number;
    queryEveryMs: number;
  };
  /** where the PromQL guards ask; null without guards */
  prometheus: { url: string; timeoutMs: number } | null;
  schedule: { warmupMs: number; baselineMs: number; durationMs: number; recoveryWindowMs: number; recoveryTimeoutMs: number };
  /** with where each number came from: the run's preflight and summary say so */
  budget: RunBudget;
  health: { intervalMs: number; timeoutMs: number };
  rollbackPolicy: { attempts: number; retryDelayMs: number };
  demo: Experiment['demo'];
  metrics: { port: number; host: string };
  stateDir: string | undefined;
  /** the team ledger (PostgreSQL); null: the state dir's SQLite file */
  ledgerUrl: string | null;
  /** who runs it, as budget-status shows it to the team: --operator, else $USER */
  operator: string;
  /** null: no Alertmanager notifications */
  alertmanager: { urls: string[]; resendEveryMs: number } | null;
}

const DEFAULT_EXPERIMENT_TYPE = 'latency';

/** The flags parsed through their fields' schemas (bounds.ts), like the files and the environment. */
interface ParsedFlags {
  budgetUsd?: number;
  durationMs?: number;
  rps?: number;
  targetUrl?: string;
}

/** Collects every problem instead of stopping at the first. */
class Problems {
  readonly list: string[] = [];
  attempt<T>(fn: () => T): T | undefined {
    try {
      return fn();
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      this.list.push(...err.problems.map((p) => (err.source ? `${err.source}: ${p}` : p)));
      return undefined;
    }
  }
}

function parseTarget(text: string, problems: Problems): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('protocol');
  } catch {
    problems.list.push(`--target: expected an http:// or https:// URL, got "${text}"`);
    return undefined;
  }
  // An explicit port 0 parses as a URL but cannot be connected to.
  if (url.port === '0') problems.list.push('--target: the port must be 1–65535');
  return text.replace(/\/+$/, '');
}

function parseFlags(flags: RunFlags, problems: Problems): ParsedFlags {
  return {
    budgetUsd: flags.budget !== undefined ? problems.attempt(() => parseNumberFlag('--budget', flags.budget!, usd)) : undefined,
    durationMs: flags.duration !== undefined ? problems.attempt(() => parseDurationFlag('--duration', flags.duration!)) : undefined,
    rps: flags.rps !== undefined ? problems.attempt(() => parseNumberFlag('--rps', flags.rps!, rps)) : undefined,
    targetUrl: flags.target !== undefined ? parseTarget(flags.target, problems) : undefined,
  };
}

/** What holds only across fields: the money against the caps, windows against timeouts, steps against the fault. */
function crossCheck(
  config: Config,
  experiment: Experiment,
  parsed: ParsedFlags,
  cap: ExperimentCap,
  targetUrl: string | undefined,
  ownFile: boolean,
): string[] {
  const problems: string[] = [];
  if (cap.askedBy) {
    const { usd: budgetUsd } = cap;
    if (budgetUsd > config.budget.maxExperimentUsd)
      problems.push(`${cap.askedBy}: $${budgetUsd} exceeds budget.maxExperimentUsd ($${config.budget.maxExperimentUsd})`);
    if (budgetUsd > config.budget.dailyCapUsd)
      problems.push(`${cap.askedBy}: $${budgetUsd} exceeds budget.dailyCapUsd ($${config.budget.dailyCapUsd})`);
  }
  const slo = { ...config.slo, ...(experiment.slo ?? {}) };
  if (slo.evaluateEvery > slo.window) problems.push('slo.evaluateEvery: must not be longer than slo.window');
  // Verification needs the SLIs to hold for the whole recovery window within the recovery timeout:
  // a window as long as the timeout can never be verified, and every injecting run would end in exit 6.
  const { recoveryWindow } = experiment.schedule;
  const { recoveryTimeout } = config.rollback;
  if (recoveryWindow >= recoveryTimeout) {
    problems.push(
      `schedule.recoveryWindow: ${formatDurationMs(recoveryWindow)} must be shorter than rollback.recoveryTimeout (${formatDurationMs(recoveryTimeout)}), ` +
        'or recovery can never be verified in time',
    );
  }
  const fault = experiment.fault;
  const usesProxy = fault.type !== 'command' && fault.type !== 'process-kill' && fault.type !== 'traffic-shift';
  for (const [i, step] of experiment.rollback.entries()) {
    // the demo's own shift; one through HAProxy or nginx works with any fault and target
    if (!isDemoShift(step)) continue;
    if (!usesProxy) problems.push(`rollback.${i}: traffic-shift needs a proxy fault (latency, errors, blackhole, reset, bandwidth)`);
    if (targetUrl !== undefined) {
      problems.push(
        `rollback.${i}: traffic-shift without haproxy or nginx needs the embedded demo's standby (give traffic-shift.haproxy or .nginx, or use a command step)`,
      );
    }
  }
  if (fault.type === 'command' && targetUrl === undefined)
    problems.push('fault.type: command needs a target (--target or target.url); the demo is driven through the proxy');
  if (fault.type === 'traffic-shift' && targetUrl === undefined)
    problems.push('fault.type: traffic-shift needs a target (--target or target.url) behind the HAProxy or nginx it shifts');
  if (fault.type === 'process-kill') problems.push(...processKillProblems(fault, targetUrl, ownFile));
  problems.push(...guardProblems(config, experiment, parsed));
  return problems;
}

/** `traffic-shift` with neither haproxy nor nginx: the embedded demo's standby. */
const isDemoShift = (s: RollbackStep): boolean =>
  s.type === 'traffic-shift' && !('haproxy' in s && s.haproxy) && !('nginx' in s && s.nginx);

/** Loads and checks everything a run needs; throws ConfigError listing every problem. */
export function resolveRunPlan(flags: RunFlags, env: NodeJS.ProcessEnv = process.env): RunPlan {
  const problems = new Problems();
  if (flags.experiment && flags.experimentType) problems.list.push('--experiment and --experiment-type: give one, not both');
  const configFlags: Record<string, unknown> = {};
  if (flags.stateDir) configFlags.stateDir = flags.stateDir;
  if (flags.metricsPort !== undefined) {
    const port = problems.attempt(() => parseNumberFlag('--metrics-port', flags.metricsPort!, metricsPort));
    if (port !== undefined) configFlags.metrics = { port };
  }
  if (flags.ledger !== undefined) {
    const url = problems.attempt(() => parseTextFlag('--ledger', flags.ledger!, ledgerUrl));
    if (url !== undefined) configFlags.ledger = { url };
  }
  const loaded = problems.attempt(() => loadConfigWithSources({ configFile: flags.config, env, flags: configFlags }));
  const config = loaded?.config;
  const source = flags.experiment ?? flags.experimentType ?? DEFAULT_EXPERIMENT_TYPE;
  const experimentFile = flags.experiment ?? problems.attempt(() => experimentTypeFile(source));
  const experiment = experimentFile ? problems.attempt(() => loadExperimentFile(experimentFile)) : undefined;
  const parsed = parseFlags(flags, problems);
  if (problems.list.length || !loaded || !config || !experimentFile || !experiment) throw new ConfigError(problems.list);

  const cap = experimentCap({
    flagUsd: parsed.budgetUsd,
    experiment: experiment.budget?.budgetUsd === undefined ? undefined : { usd: experiment.budget.budgetUsd, path: experimentFile },
    ownFile: Boolean(flags.experiment),
    config: config.budget,
    sources: loaded.budgetSources,
  });
  const targetUrl = parsed.targetUrl ?? experiment.target?.url?.replace(/\/+$/, '');
  // The templates' traffic-shift step needs the demo's standby; with --target it is left out (a
  // file of the user's own keeps it, and is told it cannot work).
  if (!flags.experiment && targetUrl !== undefined) experiment.rollback = experiment.rollback.filter((s) => !isDemoShift(s));
  const crossed = crossCheck(config, experiment, parsed, cap, targetUrl, Boolean(flags.experiment));
  if (crossed.length) throw new ConfigError(crossed);
  const budget: RunBudget = {
    costPerRequestUsd: config.budget.costPerRequestUsd,
    experimentCapUsd: cap.usd,
    dailyCapUsd: config.budget.dailyCapUsd,
    sources: {
      costPerRequestUsd: loaded.budgetSources.costPerRequestUsd,
      experimentCapUsd: cap.source,
      dailyCapUsd: loaded.budgetSources.dailyCapUsd,
    },
  };
  return assemble(config, experiment, parsed, { source, budget, targetUrl, operator: operatorName(flags.operator, env) });
}

interface ExperimentCap {
  usd: number;
  source: SettingSource;
  /** who asked for this amount (--budget, or the user's own file): more than a cap allows is their mistake to name */
  askedBy?: '--budget' | 'budget.budgetUsd';
}

/**
 * The experiment's cap: --budget, else the user's own file's budget.budgetUsd, both as asked (too
 * much is an error, crossCheck). Otherwise the lowest of a template's suggestion, the config's
 * maxExperimentUsd and dailyCapUsd: a team that lowers its caps gets them, not a refusal about a
 * template it never wrote; the source says which one won.
 */
export function experimentCap(x: {
  flagUsd: number | undefined;
  experiment: { usd: number; path: string } | undefined;
  ownFile: boolean;
  config: { maxExperimentUsd: number; dailyCapUsd: number };
  sources: BudgetSources;
}): ExperimentCap {
  if (x.flagUsd !== undefined) return { usd: x.flagUsd, source: { kind: 'flag', name: '--budget' }, askedBy: '--budget' };
  if (x.experiment && x.ownFile)
    return { usd: x.experiment.usd, source: { kind: 'experiment', path: x.experiment.path }, askedBy: 'budget.budgetUsd' };
  const candidates: ExperimentCap[] = [
    ...(x.experiment ? [{ usd: x.experiment.usd, source: { kind: 'experiment' as const, path: x.experiment.path } }] : []),
    { usd: x.config.maxExperimentUsd, source: x.sources.maxExperimentUsd },
    { usd: x.config.dailyCapUsd, source: x.sources.dailyCapUsd },
  ];
  // strictly lower to win: on a tie the more specific setting is named
  return candidates.reduce((low, c) => (c.usd < low.usd ? c : low));
}

function assemble(
  config: Config,
  experiment: Experiment,
  parsed: ParsedFlags,
  x: { source: string; budget: RunPlan['budget']; targetUrl: string | undefined; operator: string },
): RunPlan {
  const slo = { ...config.slo, ...(experiment.slo ?? {}) };
  return {
    source: x.source,
    name: experiment.name,
    targetUrl: x.targetUrl,
    healthPath: experiment.target?.healthPath ?? '/healthz',
    traffic: {
      rps: parsed.rps ?? experiment.traffic.rps ?? config.traffic.rps,
      path: experiment.traffic.path,
      method: experiment.traffic.method,
      timeoutMs: experiment.traffic.timeout ?? config.traffic.timeout,
      maxInFlight: experiment.traffic.maxInFlight ?? config.traffic.maxInFlight,
    },
    fault: experiment.fault,
    rollback: experiment.rollback,
    slo: {
      p95LatencyMs: slo.p95LatencyMs,
      errorRate: slo.errorRate,
      availability: slo.availability,
      healthFailures: slo.healthFailures,
      windowMs: slo.window,
      evaluateEveryMs: slo.evaluateEvery,
      minSamples: slo.minSamples,
      queries: slo.queries,
      inconclusiveLimit: slo.inconclusiveLimit,
      queryEveryMs: slo.queryEvery,
    },
    prometheus: slo.queries.length ? prometheusOf(config, experiment) : null,
    schedule: {
      warmupMs: experiment.schedule.warmup,
      baselineMs: experiment.schedule.baseline,
      durationMs: parsed.durationMs ?? experiment.schedule.duration,
      recoveryWindowMs: experiment.schedule.recoveryWindow,
      recoveryTimeoutMs: config.rollback.recoveryTimeout,
    },
    budget: x.budget,
    health: { intervalMs: config.health.interval, timeoutMs: config.health.timeout },
    rollbackPolicy: { attempts: config.rollback.attempts, retryDelayMs: config.rollback.retryDelay },
    demo: experiment.demo,
    metrics: config.metrics,
    stateDir: config.stateDir,
    ledgerUrl: config.ledger?.url ?? null,
    operator: x.operator,
    alertmanager: config.alertmanager ? { urls: config.alertmanager.urls, resendEveryMs: config.alertmanager.resendEvery } : null,
  };
}

/** The experiment's Prometheus, else the config's (file or GAMEDAY_PROMETHEUS_URL). */
function prometheusOf(config: Config, experiment: Experiment): { url: string; timeoutMs: number } | null {
  const p = experiment.prometheus ?? config.prometheus;
  return p ? { url: p.url.replace(/\/+$/, ''), timeoutMs: p.timeout } : null;
}

/** PromQL guards need a Prometheus; observe-only runs (rps 0) need a guard to decide. */
function guardProblems(config: Config, experiment: Experiment, parsed: ParsedFlags): string[] {
  const problems: string[] = [];
  const queries = experiment.slo?.queries ?? config.slo.queries;
  if (queries.length && !prometheusOf(config, experiment)) {
    problems.push('prometheus.url: required by slo.queries (in the experiment or config file, or GAMEDAY_PROMETHEUS_URL)');
  }
  const rpsValue = parsed.rps ?? experiment.traffic.rps ?? config.traffic.rps;
  if (rpsValue === 0 && !queries.length) {
    problems.push(
      `${parsed.rps !== undefined ? '--rps' : 'traffic.rps'}: 0 (observe-only: no synthetic traffic) needs at least one slo.queries guard to watch the SLOs`,
    );
  }
  return problems;
}

/**
 * Against the demo, process-kill hits the demo's own primary dependency, which gameday starts and
 * restarts; against a target, the experiment names the process and how to bring it back.
 */
function processKillProblems(f: Extract<FaultSpec, { type: 'process-kill' }>, targetUrl: string | undefined, ownFile: boolean): string[] {
  const problems: string[] = [];
  const named = f.pid !== undefined || f.pidFile !== undefined;
  if (targetUrl === undefined) {
    if (named)
      problems.push(
        `fault.${f.pid !== undefined ? 'pid' : 'pidFile'}: against the embedded demo, process-kill hits the demo's own dependency; leave pid and pidFile out, or give a target`,
      );
    if (f.restart)
      problems.push('fault.restart: against the embedded demo, gameday restarts its own dependency; leave restart out, or give a target');
    return problems;
  }
  const hint = ownFile
    ? ''
    : ' (the process-kill template is for the demo: copy config/experiments/process-kill.yaml and name your process)';
  if (f.pid !== undefined && f.pidFile !== undefined) problems.push('fault.pidFile: give pid or pidFile, not both');
  if (!named) problems.push(`fault.pid: process-kill against a target needs pid or pidFile${hint}`);
  if (f.signal === 'SIGSTOP' && f.restart)
    problems.push('fault.restart: not used with SIGSTOP (rollback sends SIGCONT to the stopped process); leave it out');
  if (f.signal !== 'SIGSTOP' && !f.restart)
    problems.push(
      `fault.restart: process-kill with ${f.signal} needs the command that brings the process back, as a list: [program, arg, …]${hint}`,
    );
  return problems;
}

/** The plan as the journal records it: plain data, secrets redacted by the journal writer. */
export function describePlan(plan: RunPlan): Record<string, unknown> {
  return { ...plan };
}
