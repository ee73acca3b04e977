// The shapes of config and experiment files. Strict objects, so a misspelt key is reported by its
// path instead of being silently ignored. Durations are parsed to milliseconds here. Every field's
// bound lives in bounds.ts, shared with the environment and the flags.
import * as z from 'zod';
import {
  MAX_TIMER_MS,
  alertmanagerUrls,
  duration,
  fraction,
  healthFailures,
  hostPort,
  httpUrl,
  ledgerUrl,
  maxInFlight,
  metricsPort,
  minSamples,
  p95LatencyMs,
  pid,
  positiveDuration,
  rateKbps,
  resendEvery,
  retryDelay,
  rollbackAttempts,
  rps,
  sloWindow,
  usd,
  MAX_GUARD_STREAK,
} from './bounds.ts';
import { promqlProblem } from '../telemetry/promql.ts';

// YAML reads `[sleep, 5]` or `[true]` as a number or a boolean: an argv wants them as text.
const argvItem = z.union([z.string().min(1), z.number(), z.boolean()]).transform(String);
const fitsTimer = (ms: unknown): ms is number => typeof ms === 'number' && ms >= 0 && ms <= MAX_TIMER_MS;
const argv = z.array(argvItem).min(1, 'expected a command as a list: [program, arg, …]');

/** A PromQL SLO guard: the query's value against its bound, breaching after `breachFor` results in a row. */
const PromqlGuardSchema = z
  .strictObject({
    name: z.string().regex(/^[A-Za-z][A-Za-z0-9_.:-]{0,62}$/, 'a name of letters, digits and _ . : - (at most 63), starting with a letter'),
    query: z
      .string()
      .max(4096, 'at most 4096 characters')
      .superRefine((q, ctx) => {
        const problem = promqlProblem(q);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }),
    /** breach when the value is above */
    max: z.number().finite().optional(),
    /** breach when the value is below */
    min: z.number().finite().optional(),
    breachFor: z.number().int('a whole number').min(1, 'at least 1').max(MAX_GUARD_STREAK, `at most ${MAX_GUARD_STREAK}`).default(1),
    /** several series: judge their max (or min) instead of calling the result inconclusive */
    reduce: z.enum(['max', 'min']).optional(),
  })
  .refine((g) => (g.max === undefined) !== (g.min === undefined), {
    path: ['max'],
    message: 'give exactly one of max (breach when above) or min (breach when below)',
  });
export type PromqlGuardSpec = z.output<typeof PromqlGuardSchema>;

const SloSchema = z.strictObject({
  p95LatencyMs,
  errorRate: fraction,
  availability: fraction,
  healthFailures,
  window: sloWindow,
  evaluateEvery: positiveDuration,
  /** no verdict on fewer samples than this */
  minSamples,
  /** PromQL guards, evaluated against `prometheus.url` */
  queries: z.array(PromqlGuardSchema).superRefine((qs, ctx) => {
    const seen = new Set<string>();
    for (const [i, q] of qs.entries()) {
      if (seen.has(q.name))
        ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `"${q.name}" is used twice: each guard needs its own name` });
      seen.add(q.name);
    }
  }),
  /** consecutive inconclusive results of any guard (while the fault is in) that roll it back */
  inconclusiveLimit: z.number().int('a whole number').min(1, 'at least 1').max(MAX_GUARD_STREAK, `at most ${MAX_GUARD_STREAK}`),
  /** how often each PromQL guard asks */
  queryEvery: positiveDuration.refine((ms) => ms >= 100 && ms <= 3_600_000, 'from 100ms to 1h'),
});

/** Where the PromQL guards ask; the bearer token comes from GAMEDAY_PROMETHEUS_TOKEN only. */
const PrometheusSchema = z.strictObject({
  url: httpUrl,
  timeout: positiveDuration.refine((ms) => ms <= 60_000, 'at most 60s').default(2_000),
});

/** Where the run's alerts go (src/telemetry/alertmanager.ts); absent: nowhere. */
const AlertmanagerSchema = z.strictObject({ urls: alertmanagerUrls, resendEvery: resendEvery.default(30_000) });

/** Where the budget, the stop latch and the experiments are kept when it is not the state dir's SQLite file. */
const LedgerSchema = z.strictObject({ url: ledgerUrl });

export const ConfigSchema = z.strictObject({
  budget: z.strictObject({
    costPerRequestUsd: usd,
    maxExperimentUsd: usd,
    dailyCapUsd: usd,
  }),
  slo: SloSchema,
  metrics: z.strictObject({
    port: metricsPort,
    host: z.string().min(1),
  }),
  traffic: z.strictObject({
    rps,
    timeout: positiveDuration,
    maxInFlight,
  }),
  health: z.strictObject({
    interval: positiveDuration,
    timeout: positiveDuration,
  }),
  rollback: z.strictObject({
    /** attempts per rollback step before it is declared failed */
    attempts: rollbackAttempts,
    /** the pause after the first failed attempt; it grows with each attempt, up to a cap (engine/rollback.ts) */
    retryDelay,
    /** how long recovery may take before it is declared not verified */
    recoveryTimeout: positiveDuration,
  }),
  prometheus: PrometheusSchema.optional(),
  stateDir: z.string().min(1).optional(),
  alertmanager: AlertmanagerSchema.optional(),
  /** the team ledger (PostgreSQL); absent: the SQLite file in the state dir */
  ledger: LedgerSchema.optional(),
});
export type Config = z.output<typeof ConfigSchema>;

/** A config file may set any part of the config. */
export const ConfigFileSchema = z.strictObject({
  budget: ConfigSchema.shape.budget.partial().optional(),
  slo: SloSchema.partial().optional(),
  metrics: ConfigSchema.shape.metrics.partial().optional(),
  traffic: ConfigSchema.shape.traffic.partial().optional(),
  health: ConfigSchema.shape.health.partial().optional(),
  rollback: ConfigSchema.shape.rollback.partial().optional(),
  prometheus: PrometheusSchema.partial().optional(),
  stateDir: z.string().min(1).optional(),
  // the URLs may come from GAMEDAY_ALERTMANAGER_URL; the merged config must have them
  alertmanager: AlertmanagerSchema.partial().optional(),
  ledger: LedgerSchema.optional(),
});

/** A HAProxy or nginx server name: letters, digits and . _ - : (no spaces, no newlines into a runtime command). */
const serverName = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, 'letters, digits, and . _ - : only');

/**
 * Traffic shift through HAProxy's runtime API (the admin socket: a unix path, or host:port):
 * `from` is drained (or put in maintenance) and `to` made ready, each read back to verify.
 */
const HaproxyShiftSchema = z.strictObject({
  socket: z.string().min(1),
  backend: serverName,
  from: serverName,
  to: serverName,
  /** what `from` becomes: drain (no new connections, existing ones finish) or maint (out at once) */
  fromState: z.enum(['drain', 'maint']).default('drain'),
  timeout: positiveDuration.default(5_000),
});
export type HaproxyShiftSpec = z.output<typeof HaproxyShiftSchema>;

/**
 * Traffic shift through nginx: the upstream block in an include file the user names is rewritten
 * (atomically) to `servers`, the config is tested, then reloaded. The previous file is kept for
 * the restore; a failed test puts it back.
 */
const NginxShiftSchema = z.strictObject({
  upstreamFile: z.string().min(1),
  upstream: serverName,
  /** the new upstream's servers, as nginx writes them: "127.0.0.1:8081", "standby.internal:80 backup" */
  servers: z
    .array(
      z.string().regex(/^[A-Za-z0-9._:[\]-]+( [A-Za-z0-9=._-]+)*$/, 'a server address and its parameters, e.g. "127.0.0.1:8081 weight=5"'),
    )
    .min(1),
  test: argv.default(['nginx', '-t']),
  reload: argv.default(['nginx', '-s', 'reload']),
  timeout: positiveDuration.default(10_000),
});
export type NginxShiftSpec = z.output<typeof NginxShiftSchema>;

const ProxySchema = z.strictObject({ listen: hostPort, upstream: httpUrl });
const probability = fraction.default(1);

const FAULT_TYPES = ['latency', 'errors', 'blackhole', 'reset', 'bandwidth', 'process-kill', 'command', 'traffic-shift'] as const;

const FaultSchema = z.discriminatedUnion(
  'type',
  [
    z
      .strictObject({
        type: z.literal('latency'),
        latency: duration,
        jitter: duration.default(0),
        probability,
        proxy: ProxySchema.optional(),
      })
      // the proxy holds a request for up to latency + jitter in one timer
      // (zod runs this even when a field failed: only the sum of two good values is judged here)
      .refine((f) => !fitsTimer(f.latency) || !fitsTimer(f.jitter) || f.latency + f.jitter <= MAX_TIMER_MS, {
        path: ['jitter'],
        message: `latency + jitter: at most ${MAX_TIMER_MS}ms (what a timer can hold)`,
      }),
    z.strictObject({
      type: z.literal('errors'),
      status: z.number().int().min(400).max(599).default(503),
      probability,
      proxy: ProxySchema.optional(),
    }),
    z.strictObject({ type: z.literal('blackhole'), probability, proxy: ProxySchema.optional() }),
    z.strictObject({ type: z.literal('reset'), probability, proxy: ProxySchema.optional() }),
    z.strictObject({ type: z.literal('bandwidth'), rateKbps, probability, proxy: ProxySchema.optional() }),
    z.strictObject({
      type: z.literal('process-kill'),
      /** the process to kill: a pid, or a file holding one */
      pid: pid.optional(),
      pidFile: z.string().min(1).optional(),
      signal: z.enum(['SIGKILL', 'SIGTERM', 'SIGINT', 'SIGSTOP']).default('SIGKILL'),
      /** how to bring it back: run on rollback (not with SIGSTOP: rollback sends SIGCONT) */
      restart: argv.optional(),
      timeout: positiveDuration.default(30_000),
    }),
    z.strictObject({ type: z.literal('command'), inject: argv, restore: argv, timeout: positiveDuration.default(30_000) }),
    /** a shift as the fault: "what if the primary goes?" — injected by shifting, removed by putting it back */
    z
      .strictObject({ type: z.literal('traffic-shift'), haproxy: HaproxyShiftSchema.optional(), nginx: NginxShiftSchema.optional() })
      .refine((f) => Boolean(f.haproxy) !== Boolean(f.nginx), 'fault.type traffic-shift: give haproxy or nginx (one of them)'),
  ],
  { error: (issue) => (issue.code === 'invalid_union' ? `unknown fault type; expected one of: ${FAULT_TYPES.join(', ')}` : undefined) },
);
export type FaultSpec = z.output<typeof FaultSchema>;

/** kubectl rollout restart, then rollout status until done or the timeout (a failed step). */
const PodRestartSchema = z.strictObject({
  type: z.literal('pod-restart'),
  deployment: z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'a Kubernetes name (lower case, digits, - and .)'),
  namespace: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'a Kubernetes namespace')
    .optional(),
  context: z.string().min(1).optional(),
  timeout: positiveDuration.default(120_000),
});
export type PodRestartSpec = z.output<typeof PodRestartSchema>;

const RollbackStepSchema = z.union([
  z.literal('traffic-shift').transform(() => ({ type: 'traffic-shift' as const })),
  z
    .strictObject({ type: z.literal('traffic-shift'), haproxy: HaproxyShiftSchema.optional(), nginx: NginxShiftSchema.optional() })
    .refine((s) => !(s.haproxy && s.nginx), "traffic-shift: give haproxy or nginx, not both (neither: the embedded demo's standby)"),
  z.strictObject({ type: z.literal('command'), run: argv, timeout: positiveDuration.default(30_000) }),
  PodRestartSchema,
]);
export type RollbackStep = z.output<typeof RollbackStepSchema>;

export const ExperimentSchema = z.strictObject({
  name: z.string().min(1).max(120),
  description: z.string().optional(),
  target: z
    .strictObject({
      url: httpUrl,
      healthPath: z.string().startsWith('/').default('/healthz'),
    })
    .optional(),
  traffic: z
    .strictObject({
      rps: rps.optional(),
      path: z.string().startsWith('/').default('/'),
      method: z.enum(['GET', 'HEAD', 'POST']).default('GET'),
      timeout: positiveDuration.optional(),
      maxInFlight: maxInFlight.optional(),
    })
    .default({ path: '/', method: 'GET' }),
  fault: FaultSchema,
  schedule: z
    .strictObject({
      /** traffic before the baseline whose samples are discarded (cold connections, JIT) */
      warmup: duration.default(1_000),
      baseline: duration.default(5_000),
      duration: duration.default(60_000),
      recoveryWindow: duration.default(5_000),
    })
    .default({ warmup: 1_000, baseline: 5_000, duration: 60_000, recoveryWindow: 5_000 }),
  slo: SloSchema.partial().optional(),
  prometheus: PrometheusSchema.optional(),
  budget: z.strictObject({ budgetUsd: usd.optional() }).optional(),
  rollback: z.array(RollbackStepSchema).default([]),
  demo: z
    .strictObject({
      timeout: positiveDuration.default(1_000),
      retries: z.number().int().min(0).max(5).default(1),
      fallback: z.boolean().default(false),
      /** the demo API's own /metrics (prom-client), for a Prometheus to scrape; 0: a free port, told at start */
      metricsPort: metricsPort.default(0),
    })
    .default({ timeout: 1_000, retries: 1, fallback: false, metricsPort: 0 }),
});
export type Experiment = z.output<typeof ExperimentSchema>;
