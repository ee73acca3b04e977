// The shapes of config and experiment files. Strict objects, so a misspelt key is reported by its
// path instead of being silently ignored. Durations are parsed to milliseconds here.
import { z } from 'zod';
import { DURATION_PATTERN, parseDurationMs } from './duration.ts';

export const duration = z
  .union([
    z.number().nonnegative(),
    z.string().regex(DURATION_PATTERN, 'expected a duration such as "250ms", "10s" or "2m"'),
  ])
  .transform((v) => (typeof v === 'number' ? v : (parseDurationMs(v) as number)));

/** Positive, for the windows, intervals and timeouts that cannot be 0. */
const positiveDuration = duration.refine((ms) => ms > 0, 'must be longer than 0');
/** The SLO window keeps a histogram per 250 ms: bounded, so a typo cannot take gigabytes. */
const MAX_SLO_WINDOW_MS = 60_000;
// Money is kept in whole micro-dollars in SQLite integers: bounded below by one micro-dollar and
// above far from int64.
const MAX_USD = 1e9;
const usd = z.number().positive().finite().max(MAX_USD, `at most ${MAX_USD} dollars`);
const costUsd = usd.min(0.000001, 'at least $0.000001 (one micro-dollar)');
const fraction = z.number().min(0).max(1);
// YAML reads `[sleep, 5]` or `[true]` as a number or a boolean: an argv wants them as text.
const argvItem = z.union([z.string().min(1), z.number(), z.boolean()]).transform(String);
const argv = z.array(argvItem).min(1, 'expected a command as a list: [program, arg, …]');
const hostPort = z
  .string()
  .regex(/^[^\s:]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/, 'expected host:port, e.g. 127.0.0.1:7001');
const httpUrl = z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' });

export const SloSchema = z.strictObject({
  p95LatencyMs: z.number().positive(),
  errorRate: fraction,
  availability: fraction,
  healthFailures: z.number().int().positive(),
  window: positiveDuration.refine((ms) => ms <= MAX_SLO_WINDOW_MS, `at most ${MAX_SLO_WINDOW_MS / 1000}s`),
  evaluateEvery: positiveDuration,
  /** no verdict on fewer samples than this */
  minSamples: z.number().int().positive(),
});

export const ConfigSchema = z.strictObject({
  budget: z.strictObject({
    costPerRequestUsd: costUsd,
    maxExperimentUsd: usd,
    dailyCapUsd: usd,
  }),
  slo: SloSchema,
  metrics: z.strictObject({
    port: z.number().int().min(0).max(65535),
    host: z.string().min(1),
  }),
  traffic: z.strictObject({
    rps: z.number().positive(),
    timeout: positiveDuration,
    maxInFlight: z.number().int().positive(),
  }),
  health: z.strictObject({
    interval: positiveDuration,
    timeout: positiveDuration,
  }),
  rollback: z.strictObject({
    /** attempts per rollback step before it is declared failed */
    attempts: z.number().int().positive(),
    retryDelay: duration,
    /** how long recovery may take before it is declared not verified */
    recoveryTimeout: duration,
  }),
  stateDir: z.string().min(1).optional(),
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
  stateDir: z.string().min(1).optional(),
});

const ProxySchema = z.strictObject({ listen: hostPort, upstream: httpUrl });
const probability = fraction.default(1);

export const FAULT_TYPES = ['latency', 'errors', 'blackhole', 'reset', 'bandwidth', 'process-kill', 'command'] as const;
export type FaultType = (typeof FAULT_TYPES)[number];

export const FaultSchema = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ type: z.literal('latency'), latency: duration, jitter: duration.default(0), probability, proxy: ProxySchema.optional() }),
    z.strictObject({ type: z.literal('errors'), status: z.number().int().min(400).max(599).default(503), probability, proxy: ProxySchema.optional() }),
    z.strictObject({ type: z.literal('blackhole'), probability, proxy: ProxySchema.optional() }),
    z.strictObject({ type: z.literal('reset'), probability, proxy: ProxySchema.optional() }),
    z.strictObject({ type: z.literal('bandwidth'), rateKbps: z.number().positive(), probability, proxy: ProxySchema.optional() }),
    z.strictObject({
      type: z.literal('process-kill'),
      /** the process to kill: a pid, or a file holding one */
      pid: z.number().int().positive().optional(),
      pidFile: z.string().min(1).optional(),
      signal: z.enum(['SIGKILL', 'SIGTERM', 'SIGINT', 'SIGSTOP']).default('SIGKILL'),
      /** how to bring it back: run on rollback (not with SIGSTOP: rollback sends SIGCONT) */
      restart: argv.optional(),
      timeout: duration.default(30_000),
    }),
    z.strictObject({ type: z.literal('command'), inject: argv, restore: argv, timeout: duration.default(30_000) }),
  ],
  { error: (issue) => (issue.code === 'invalid_union' ? `unknown fault type; expected one of: ${FAULT_TYPES.join(', ')}` : undefined) },
);
export type FaultSpec = z.output<typeof FaultSchema>;

const RollbackStepSchema = z.union([
  z.literal('traffic-shift').transform(() => ({ type: 'traffic-shift' as const })),
  z.strictObject({ type: z.literal('traffic-shift') }),
  z.strictObject({ type: z.literal('command'), run: argv, timeout: duration.default(30_000) }),
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
      rps: z.number().positive().max(100_000).optional(),
      path: z.string().startsWith('/').default('/'),
      method: z.enum(['GET', 'HEAD', 'POST']).default('GET'),
      timeout: positiveDuration.optional(),
      maxInFlight: z.number().int().positive().optional(),
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
  budget: z.strictObject({ budgetUsd: usd.optional() }).optional(),
  rollback: z.array(RollbackStepSchema).default([]),
  demo: z
    .strictObject({
      timeout: duration.default(1_000),
      retries: z.number().int().min(0).max(5).default(1),
      fallback: z.boolean().default(false),
    })
    .default({ timeout: 1_000, retries: 1, fallback: false }),
});
export type ExperimentInput = z.input<typeof ExperimentSchema>;
export type Experiment = z.output<typeof ExperimentSchema>;
