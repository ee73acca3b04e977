// The shapes of config and experiment files. Strict objects, so a misspelt key is reported by its
// path instead of being silently ignored. Durations are parsed to milliseconds here. Every field's
// bound lives in bounds.ts, shared with the environment and the flags. The descriptions are what an
// editor shows on hover: config/schema.json is generated from these (npm run schema).
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
const ARGV_HELP = 'a command as a list, [program, arg, …], run without a shell';
const DURATION_HELP = 'a duration: "250ms", "10s", "2m", "1h", or a number of milliseconds';
const USD_HELP = 'dollars, $0.000001 to $1e9, at most 6 decimals';

/** A PromQL SLO guard: the query's value against its bound, breaching after `breachFor` results in a row. */
const PromqlGuardSchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9_.:-]{0,62}$/, 'a name of letters, digits and _ . : - (at most 63), starting with a letter')
      .describe("The guard's name, unique among the guards: letters, digits and _ . : - (at most 63), starting with a letter"),
    query: z
      .string()
      .max(4096, 'at most 4096 characters')
      .superRefine((q, ctx) => {
        const problem = promqlProblem(q);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .describe('An instant PromQL query (parsed at load); its value is judged against max or min'),
    max: z.number().finite().optional().describe('Breach when the value is above this (give max or min, not both)'),
    min: z.number().finite().optional().describe('Breach when the value is below this (give max or min, not both)'),
    breachFor: z
      .number()
      .int('a whole number')
      .min(1, 'at least 1')
      .max(MAX_GUARD_STREAK, `at most ${MAX_GUARD_STREAK}`)
      .default(1)
      .describe(`Consecutive breaching answers before rollback (1–${MAX_GUARD_STREAK})`),
    reduce: z
      .enum(['max', 'min'])
      .optional()
      .describe('Several series: judge their max (or min); without it, several series are inconclusive'),
  })
  .refine((g) => (g.max === undefined) !== (g.min === undefined), {
    path: ['max'],
    message: 'give exactly one of max (breach when above) or min (breach when below)',
  });
export type PromqlGuardSpec = z.output<typeof PromqlGuardSchema>;

const SloSchema = z
  .strictObject({
    p95LatencyMs: p95LatencyMs.describe("Roll back when the window's p95 latency is above this many milliseconds (at most 3600000)"),
    errorRate: fraction.describe('Roll back when 5xx answers / requests is above this fraction (0–1)'),
    availability: fraction.describe('Roll back when answered requests / requests is below this fraction (0–1)'),
    healthFailures: healthFailures.describe('Roll back when this many health probes in a row fail (1–1000)'),
    window: sloWindow.describe(`The sliding window the SLIs are computed over; ${DURATION_HELP}, at most 1m`),
    evaluateEvery: positiveDuration.describe(`How often the window is evaluated (not longer than window); ${DURATION_HELP}`),
    minSamples: minSamples.describe('No verdict on fewer requests than this'),
    queries: z
      .array(PromqlGuardSchema)
      .superRefine((qs, ctx) => {
        const seen = new Set<string>();
        for (const [i, q] of qs.entries()) {
          if (seen.has(q.name))
            ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `"${q.name}" is used twice: each guard needs its own name` });
          seen.add(q.name);
        }
      })
      .describe('PromQL guards, asked of prometheus.url: the service’s own SLOs guard the run too'),
    inconclusiveLimit: z
      .number()
      .int('a whole number')
      .min(1, 'at least 1')
      .max(MAX_GUARD_STREAK, `at most ${MAX_GUARD_STREAK}`)
      .describe(`Consecutive inconclusive answers of a guard, fault in, that roll it back (fail closed; 1–${MAX_GUARD_STREAK})`),
    queryEvery: positiveDuration
      .refine((ms) => ms >= 100 && ms <= 3_600_000, 'from 100ms to 1h')
      .describe(`How often each PromQL guard asks; ${DURATION_HELP}, 100ms to 1h`),
  })
  .describe('The SLOs: gameday rolls the fault back the moment one is breached');

/** Where the PromQL guards ask; the bearer token comes from GAMEDAY_PROMETHEUS_TOKEN only. */
const PrometheusSchema = z
  .strictObject({
    url: httpUrl.describe("Prometheus's base URL, http(s); a bearer token comes from GAMEDAY_PROMETHEUS_TOKEN only"),
    timeout: positiveDuration
      .refine((ms) => ms <= 60_000, 'at most 60s')
      .default(2_000)
      .describe(`Per query; ${DURATION_HELP}, at most 60s`),
  })
  .describe('Where the PromQL guards (slo.queries) ask');

/** Where the run's alerts go (src/telemetry/alertmanager.ts); absent: nowhere. */
const AlertmanagerSchema = z
  .strictObject({
    urls: alertmanagerUrls.describe('Alertmanager base URLs (1–10), each sent every alert'),
    resendEvery: resendEvery.default(30_000).describe(`How often a firing alert is sent again; ${DURATION_HELP}, 1s to 2m`),
  })
  .describe("Where the run's alerts go; absent: nowhere");

/** Where the budget, the stop latch and the experiments are kept when it is not the state dir's SQLite file. */
const LedgerSchema = z
  .strictObject({
    url: ledgerUrl.describe('postgres://user@host:5432/db (the password from GAMEDAY_LEDGER_URL, PGPASSWORD or PGPASSFILE)'),
  })
  .describe('The team ledger (PostgreSQL) shared across machines; absent: the SQLite file in the state dir');

export const ConfigSchema = z.strictObject({
  budget: z
    .strictObject({
      costPerRequestUsd: usd.describe(`What each request the traffic generator sends costs; ${USD_HELP}`),
      maxExperimentUsd: usd.describe(`Per-experiment cap: an experiment's budgetUsd or --budget may not exceed it; ${USD_HELP}`),
      dailyCapUsd: usd.describe(`Per UTC day, shared by every experiment on the same ledger; ${USD_HELP}`),
    })
    .describe('Money: every request costs, and nothing is spent that the ledger has not reserved'),
  slo: SloSchema,
  metrics: z
    .strictObject({
      port: metricsPort.describe('Port of /metrics while a run lasts; 0 = off'),
      host: z.string().min(1).describe('Address /metrics listens on'),
    })
    .describe("Prometheus /metrics of the run's own figures"),
  traffic: z
    .strictObject({
      rps: rps.describe('Requests per second when the experiment does not say (at most 100000)'),
      timeout: positiveDuration.describe(`Per request, from its scheduled send time; ${DURATION_HELP}`),
      maxInFlight: maxInFlight.describe('Requests outstanding at most (1–100000)'),
    })
    .describe("The synthetic traffic gameday sends to the target (the experiment's traffic overrides it)"),
  health: z
    .strictObject({
      interval: positiveDuration.describe(`How often the target's health path is probed; ${DURATION_HELP}`),
      timeout: positiveDuration.describe(`Per probe; ${DURATION_HELP}`),
    })
    .describe("Health probes of the target's healthPath"),
  rollback: z
    .strictObject({
      attempts: rollbackAttempts.describe('Attempts per rollback step before it is declared failed (1–10)'),
      // the pause grows with each attempt, up to a cap (engine/rollback.ts)
      retryDelay: retryDelay.describe(`The pause after the first failed attempt; ${DURATION_HELP}, at most 5s`),
      recoveryTimeout: positiveDuration.describe(
        `How long recovery may take before it is declared not verified (exit 6); longer than schedule.recoveryWindow; ${DURATION_HELP}`,
      ),
    })
    .describe('How rollback steps are retried and recovery awaited'),
  prometheus: PrometheusSchema.optional(),
  stateDir: z.string().min(1).optional().describe('Where the SQLite ledger and the journals are kept (default $XDG_STATE_HOME/gameday)'),
  alertmanager: AlertmanagerSchema.optional(),
  ledger: LedgerSchema.optional(),
});
export type Config = z.output<typeof ConfigSchema>;

/** A config file may set any part of the config. */
/** `.partial()` makes a new schema: the section's description goes with it, for the editors. */
const help = (schema: z.ZodType): string => schema.description ?? '';
const { shape } = ConfigSchema;

export const ConfigFileSchema = z
  .strictObject({
    budget: shape.budget.partial().optional().describe(help(shape.budget)),
    slo: SloSchema.partial().optional().describe(help(SloSchema)),
    metrics: shape.metrics.partial().optional().describe(help(shape.metrics)),
    traffic: shape.traffic.partial().optional().describe(help(shape.traffic)),
    health: shape.health.partial().optional().describe(help(shape.health)),
    rollback: shape.rollback.partial().optional().describe(help(shape.rollback)),
    prometheus: PrometheusSchema.partial().optional().describe(help(PrometheusSchema)),
    stateDir: shape.stateDir,
    // the URLs may come from GAMEDAY_ALERTMANAGER_URL; the merged config must have them
    alertmanager: AlertmanagerSchema.partial().optional().describe(help(AlertmanagerSchema)),
    ledger: LedgerSchema.optional(),
  })
  .describe('A gameday config file: config/default.yaml, or --config FILE overriding any part of it');

/** A HAProxy or nginx server name: letters, digits and . _ - : (no spaces, no newlines into a runtime command). */
const serverName = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, 'letters, digits, and . _ - : only');

/**
 * Traffic shift through HAProxy's runtime API (the admin socket: a unix path, or host:port):
 * `from` is drained (or put in maintenance) and `to` made ready, each read back to verify.
 */
const HaproxyShiftSchema = z.strictObject({
  socket: z.string().min(1).describe("HAProxy's admin socket (level admin): a unix path, or host:port"),
  backend: serverName.describe('The backend holding both servers'),
  from: serverName.describe('The server traffic leaves'),
  to: serverName.describe('The server traffic goes to'),
  fromState: z
    .enum(['drain', 'maint'])
    .default('drain')
    .describe('What `from` becomes: drain (no new connections, existing ones finish) or maint (out at once)'),
  timeout: positiveDuration.default(5_000).describe(`For the whole shift; ${DURATION_HELP}`),
});
export type HaproxyShiftSpec = z.output<typeof HaproxyShiftSchema>;

/**
 * Traffic shift through nginx: the upstream block in an include file the user names is rewritten
 * (atomically) to `servers`, the config is tested, then reloaded. The previous file is kept for
 * the restore; a failed test puts it back.
 */
const NginxShiftSchema = z.strictObject({
  upstreamFile: z.string().min(1).describe('The include file holding the upstream block; rewritten atomically, put back after'),
  upstream: serverName.describe("The upstream block's name"),
  servers: z
    .array(
      z.string().regex(/^[A-Za-z0-9._:[\]-]+( [A-Za-z0-9=._-]+)*$/, 'a server address and its parameters, e.g. "127.0.0.1:8081 weight=5"'),
    )
    .min(1)
    .describe('The new upstream\'s servers, as nginx writes them: "127.0.0.1:8081", "standby.internal:80 backup"'),
  test: argv.default(['nginx', '-t']).describe(`Tests the config before the reload; ${ARGV_HELP}`),
  reload: argv.default(['nginx', '-s', 'reload']).describe(`Reloads nginx; ${ARGV_HELP}`),
  timeout: positiveDuration.default(10_000).describe(`For the whole shift; ${DURATION_HELP}`),
});
export type NginxShiftSpec = z.output<typeof NginxShiftSchema>;

const ProxySchema = z
  .strictObject({
    listen: hostPort.describe('host:port the fault proxy listens on; the target must reach its dependency there'),
    upstream: httpUrl.describe('The dependency the proxy forwards to'),
  })
  .describe('The fault proxy in front of a dependency of the target; absent: in front of the target itself');
const probability = fraction.default(1).describe('The share of requests the fault hits, 0–1 (the blast radius)');
const FAULT_TYPE_HELP = 'The fault: latency, errors, blackhole, reset, bandwidth, process-kill, command or traffic-shift';

const FAULT_TYPES = ['latency', 'errors', 'blackhole', 'reset', 'bandwidth', 'process-kill', 'command', 'traffic-shift'] as const;

const FaultSchema = z.discriminatedUnion(
  'type',
  [
    z
      .strictObject({
        type: z.literal('latency').describe(FAULT_TYPE_HELP),
        latency: duration.describe(`Added to every hit request; ${DURATION_HELP}`),
        jitter: duration.default(0).describe(`Random extra latency, up to this; ${DURATION_HELP}`),
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
      type: z.literal('errors').describe(FAULT_TYPE_HELP),
      status: z.number().int().min(400).max(599).default(503).describe('The HTTP status hit requests are answered with (400–599)'),
      probability,
      proxy: ProxySchema.optional(),
    }),
    z
      .strictObject({ type: z.literal('blackhole').describe(FAULT_TYPE_HELP), probability, proxy: ProxySchema.optional() })
      .describe('Hit requests are held until the client gives up'),
    z
      .strictObject({ type: z.literal('reset').describe(FAULT_TYPE_HELP), probability, proxy: ProxySchema.optional() })
      .describe("Hit requests' connections are reset (TCP RST)"),
    z.strictObject({
      type: z.literal('bandwidth').describe(FAULT_TYPE_HELP),
      rateKbps: rateKbps.describe('The rate answers trickle in at, in kbps (1–10000000)'),
      probability,
      proxy: ProxySchema.optional(),
    }),
    z.strictObject({
      type: z.literal('process-kill').describe(FAULT_TYPE_HELP),
      pid: pid.optional().describe('The process to signal (against a target; give pid or pidFile; none against the demo)'),
      pidFile: z.string().min(1).optional().describe('A file holding the pid of the process to signal (against a target)'),
      signal: z
        .enum(['SIGKILL', 'SIGTERM', 'SIGINT', 'SIGSTOP'])
        .default('SIGKILL')
        .describe('The signal sent; SIGSTOP freezes the process and rollback sends SIGCONT'),
      restart: argv.optional().describe(`Brings the process back on rollback (against a target; not with SIGSTOP); ${ARGV_HELP}`),
      timeout: positiveDuration.default(30_000).describe(`For restart; ${DURATION_HELP}`),
    }),
    z.strictObject({
      type: z.literal('command').describe(FAULT_TYPE_HELP),
      inject: argv.describe(`Puts the fault in; ${ARGV_HELP}`),
      restore: argv.describe(`Takes it out again (the rollback); ${ARGV_HELP}`),
      timeout: positiveDuration.default(30_000).describe(`Per command; ${DURATION_HELP}`),
    }),
    // a shift as the fault: "what if the primary goes?" — injected by shifting, removed by putting it back
    z
      .strictObject({
        type: z.literal('traffic-shift').describe(FAULT_TYPE_HELP),
        haproxy: HaproxyShiftSchema.optional().describe("A shift through HAProxy's runtime API (give haproxy or nginx)"),
        nginx: NginxShiftSchema.optional().describe('A shift through an nginx upstream include file (give haproxy or nginx)'),
      })
      .refine((f) => Boolean(f.haproxy) !== Boolean(f.nginx), 'fault.type traffic-shift: give haproxy or nginx (one of them)'),
  ],
  { error: (issue) => (issue.code === 'invalid_union' ? `unknown fault type; expected one of: ${FAULT_TYPES.join(', ')}` : undefined) },
);
export type FaultSpec = z.output<typeof FaultSchema>;

const STEP_TYPE_HELP = 'The rollback step: traffic-shift, command or pod-restart';

/** kubectl rollout restart, then rollout status until done or the timeout (a failed step). */
const PodRestartSchema = z.strictObject({
  type: z.literal('pod-restart').describe(STEP_TYPE_HELP),
  deployment: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'a Kubernetes name (lower case, digits, - and .)')
    .describe('The Deployment restarted with kubectl rollout restart'),
  namespace: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'a Kubernetes namespace')
    .optional()
    .describe("Its namespace (default: kubectl's)"),
  context: z.string().min(1).optional().describe("The kubeconfig context (default: kubectl's)"),
  timeout: positiveDuration.default(120_000).describe(`For the rollout to finish; ${DURATION_HELP}`),
});
export type PodRestartSpec = z.output<typeof PodRestartSchema>;

const RollbackStepSchema = z.union([
  z
    .literal('traffic-shift')
    .transform(() => ({ type: 'traffic-shift' as const }))
    .describe("The embedded demo's own shift to its standby"),
  z
    .strictObject({
      type: z.literal('traffic-shift').describe(STEP_TYPE_HELP),
      haproxy: HaproxyShiftSchema.optional().describe("A shift through HAProxy's runtime API"),
      nginx: NginxShiftSchema.optional().describe('A shift through an nginx upstream include file'),
    })
    .refine((s) => !(s.haproxy && s.nginx), "traffic-shift: give haproxy or nginx, not both (neither: the embedded demo's standby)")
    .describe('Shift traffic away from the faulty dependency; put back at the end of the run'),
  z
    .strictObject({
      type: z.literal('command').describe(STEP_TYPE_HELP),
      run: argv.describe(ARGV_HELP),
      timeout: positiveDuration.default(30_000).describe(`${DURATION_HELP}`),
    })
    .describe('Run a command'),
  PodRestartSchema.describe('kubectl rollout restart, then rollout status until done'),
]);
export type RollbackStep = z.output<typeof RollbackStepSchema>;

export const ExperimentSchema = z
  .strictObject({
    name: z
      .string()
      .min(1)
      .max(120)
      .describe('Shown in the control room, the journal, the report and budget-status (at most 120 characters)'),
    description: z.string().optional().describe('What the experiment asks, for the report'),
    target: z
      .strictObject({
        url: httpUrl.describe('The http(s) URL of the service whose SLOs are guarded (--target overrides it)'),
        healthPath: z.string().startsWith('/').default('/healthz').describe('Probed every health.interval; must answer 2xx'),
      })
      .optional()
      .describe('The service whose SLOs are guarded; absent (and no --target): the embedded demo'),
    traffic: z
      .strictObject({
        rps: rps.optional().describe("Requests per second (default: the config's traffic.rps); 0: observe-only, needs a PromQL guard"),
        path: z.string().startsWith('/').default('/').describe('The path requests go to'),
        method: z.enum(['GET', 'HEAD', 'POST']).default('GET').describe('The HTTP method of every request'),
        timeout: positiveDuration.optional().describe(`Per request (default: the config's traffic.timeout); ${DURATION_HELP}`),
        maxInFlight: maxInFlight.optional().describe("Requests outstanding at most (default: the config's traffic.maxInFlight)"),
      })
      .default({ path: '/', method: 'GET' })
      .describe('The synthetic traffic sent to the target; every request costs budget.costPerRequestUsd'),
    fault: FaultSchema.describe('What goes wrong, and where (README: Where the fault sits)'),
    schedule: z
      .strictObject({
        warmup: duration
          .default(1_000)
          .describe(`Traffic before the baseline whose samples are discarded (cold connections, JIT); ${DURATION_HELP}`),
        baseline: duration.default(5_000).describe(`The steady state measured before the fault goes in; ${DURATION_HELP}`),
        duration: duration.default(60_000).describe(`How long the fault stays in (--duration overrides it); ${DURATION_HELP}`),
        recoveryWindow: duration
          .default(5_000)
          .describe(`How long the SLOs must hold after rollback to call recovery verified; ${DURATION_HELP}`),
      })
      .default({ warmup: 1_000, baseline: 5_000, duration: 60_000, recoveryWindow: 5_000 })
      .describe('The phases: warmup, baseline, the fault, recovery'),
    slo: SloSchema.partial().optional().describe("Overrides of the config's slo, this experiment only"),
    prometheus: PrometheusSchema.optional(),
    budget: z
      .strictObject({
        budgetUsd: usd
          .optional()
          .describe(`What this experiment may spend (default and at most: the config's budget.maxExperimentUsd); ${USD_HELP}`),
      })
      .optional()
      .describe('Money for this experiment'),
    rollback: z
      .array(RollbackStepSchema)
      .default([])
      .describe('Steps run, in order, after the fault is removed on a breach or a stop (each with a complete example in docs/rollback.md)'),
    demo: z
      .strictObject({
        timeout: positiveDuration.default(1_000).describe(`The demo API's timeout on its dependency; ${DURATION_HELP}`),
        retries: z.number().int().min(0).max(5).default(1).describe('Its retries on a failed dependency call (0–5)'),
        fallback: z.boolean().default(false).describe('Whether it answers from a cache when the dependency fails'),
        metricsPort: metricsPort
          .default(0)
          .describe("The demo API's own /metrics, for a Prometheus to scrape; 0: a free port, told at start"),
      })
      .default({ timeout: 1_000, retries: 1, fallback: false, metricsPort: 0 })
      .describe("The embedded demo's defences (used only without a target)"),
  })
  .describe('A gameday experiment (gameday run --experiment FILE; check it with gameday validate FILE)');
export type Experiment = z.output<typeof ExperimentSchema>;
