// Every field's bound, defined once. The config file, the GAMEDAY_* environment, the experiment file
// and the flags all parse through these schemas, so a number is bounded whichever layer it comes
// from, and no typo can take gigabytes, overflow a timer or be charged other than as written.
import * as z from 'zod';
import { DURATION_PATTERN, parseDurationMs } from './duration.ts';

/** Node's timers hold at most 2^31−1 ms (about 24.8 days); a longer one fires after 1 ms. */
export const MAX_TIMER_MS = 2_147_483_647;
/** The SLO window keeps a histogram per 250 ms. */
const MAX_SLO_WINDOW_MS = 60_000;
/** Money: whole micro-dollars (the ledger's unit, kept in SQLite integers), far from int64. */
const MIN_USD = 0.000001;
const MAX_USD = 1e9;
/** A game day's traffic; bigger load belongs to a load tool. */
const MAX_RPS = 100_000;
/** The traffic generator's backlog is bounded to the same. */
const MAX_IN_FLIGHT = 100_000;
/** The SLO window's latency histogram tracks up to an hour: a higher threshold could never breach. */
const MAX_P95_LATENCY_MS = 3_600_000;
const MAX_HEALTH_FAILURES = 1_000;
/** The most a full window can hold (MAX_RPS × MAX_SLO_WINDOW_MS): more could never give a verdict. */
const MAX_MIN_SAMPLES = (MAX_RPS * MAX_SLO_WINDOW_MS) / 1000;
const MAX_ROLLBACK_ATTEMPTS = 10;
const MAX_RETRY_DELAY_MS = 5_000;
/** Bandwidth fault: below 1 kbps a response's delay outgrows a timer; 10 Gbit/s is no fault. */
const MIN_RATE_KBPS = 1;
const MAX_RATE_KBPS = 10_000_000;
/** pid_t is a signed 32-bit integer: process.kill refuses anything larger. */
const MAX_PID = 2_147_483_647;
/** Config and experiment files: read at most this much (a YAML of 1 MiB already takes ~40 MB to parse). */
export const MAX_CONFIG_FILE_BYTES = 1024 * 1024;

const MICROS_PER_USD = 1_000_000;

/**
 * Whether usd is a whole number of micro-dollars, allowing the float noise of a decimal written
 * with at most 6 places (≤ 2 ulp of usd × 1e6, under half a micro-dollar up to $1e9).
 */
export function isWholeMicros(usd: number): boolean {
  const micros = usd * MICROS_PER_USD;
  return Math.abs(micros - Math.round(micros)) <= 1e-6 + Math.abs(micros) * 2 ** -51;
}

/** Money: one check, one message (a value below the floor is not also "not whole"). */
export const usd = z.number().superRefine((v, ctx) => {
  const problem =
    v < MIN_USD
      ? 'at least $0.000001 (one micro-dollar, the ledger’s unit)'
      : v > MAX_USD
        ? `at most $${MAX_USD}`
        : !isWholeMicros(v)
          ? 'must be a whole number of micro-dollars (at most 6 decimals): the ledger would round it'
          : undefined;
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** "250ms", "10s", "2m", "1h", or a number of milliseconds; at most what a timer can hold. */
export const duration = z
  .union([
    z.number().nonnegative('must not be negative'),
    z.string().regex(DURATION_PATTERN, 'expected a duration such as "250ms", "10s" or "2m"'),
  ])
  .transform((v) => (typeof v === 'number' ? v : (parseDurationMs(v) as number)))
  .pipe(z.number().max(MAX_TIMER_MS, `at most ${MAX_TIMER_MS}ms (about 24.8 days: what a timer can hold)`));

/** Positive, for the windows, intervals and timeouts that cannot be 0 (a command timeout of 0 would mean none). */
export const positiveDuration = duration.refine((ms) => ms > 0, 'must be longer than 0');

export const sloWindow = positiveDuration.refine((ms) => ms <= MAX_SLO_WINDOW_MS, `at most ${MAX_SLO_WINDOW_MS / 1000}s`);
export const retryDelay = duration.refine((ms) => ms <= MAX_RETRY_DELAY_MS, `at most ${MAX_RETRY_DELAY_MS / 1000}s`);

export const fraction = z.number().min(0, 'at least 0').max(1, 'at most 1');
/** 0: observe-only (no synthetic traffic, nothing spent), allowed when a PromQL guard watches (plan.ts). */
export const rps = z.number().min(0, 'must not be negative').max(MAX_RPS, `at most ${MAX_RPS}`);
export const MAX_GUARD_STREAK = 100;
export const maxInFlight = z.number().int('a whole number').positive('at least 1').max(MAX_IN_FLIGHT, `at most ${MAX_IN_FLIGHT}`);
export const p95LatencyMs = z.number().positive('must be more than 0').max(MAX_P95_LATENCY_MS, `at most ${MAX_P95_LATENCY_MS} (an hour)`);
export const healthFailures = z
  .number()
  .int('a whole number')
  .positive('at least 1')
  .max(MAX_HEALTH_FAILURES, `at most ${MAX_HEALTH_FAILURES}`);
export const minSamples = z
  .number()
  .int('a whole number')
  .positive('at least 1')
  .max(MAX_MIN_SAMPLES, `at most ${MAX_MIN_SAMPLES} (a full 1m window at ${MAX_RPS} rps)`);
export const rollbackAttempts = z
  .number()
  .int('a whole number')
  .positive('at least 1')
  .max(MAX_ROLLBACK_ATTEMPTS, `at most ${MAX_ROLLBACK_ATTEMPTS}`);
export const rateKbps = z.number().min(MIN_RATE_KBPS, `at least ${MIN_RATE_KBPS}`).max(MAX_RATE_KBPS, `at most ${MAX_RATE_KBPS}`);

/** metrics.port: 0 turns the endpoint off. */
export const metricsPort = z
  .number()
  .int('a whole number')
  .min(0, 'expected a port 0–65535 (0 = off)')
  .max(65535, 'expected a port 0–65535 (0 = off)');

/**
 * host:port with a port 1–65535. No 0 ("pick one"): the target is configured to reach its
 * dependency at this address, so it must be known in advance.
 */
export const hostPort = z
  .string()
  .regex(/^[^\s:]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/, 'expected host:port, e.g. 127.0.0.1:7001')
  .refine((s) => {
    const port = /:(\d{1,5})$/.exec(s)?.[1];
    return port === undefined || (Number(port) >= 1 && Number(port) <= 65535); // no port: the regex said so
  }, 'the port must be 1–65535');

/** An http(s) URL; an explicit port 0 cannot be connected to. (The URL parser refuses ports over 65535.) */
export const httpUrl = z
  .url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' })
  .refine((s) => !URL.canParse(s) || new URL(s).port !== '0', 'the port must be 1–65535');

/**
 * The team ledger: a PostgreSQL URL (libpq's form, postgres://user:password@host:5432/db). The
 * SQLite ledger has no URL: it is the file in the state dir, the default.
 */
export const ledgerUrl = z
  .string()
  .refine(
    (s) => /^postgres(ql)?:\/\//i.test(s),
    'expected a postgres:// or postgresql:// URL (the SQLite ledger is the default: leave it unset)',
  )
  .refine((s) => !/^postgres(ql)?:\/\//i.test(s) || URL.canParse(s), 'not a valid URL (percent-encode @, : and / in the password)')
  .refine((s) => !URL.canParse(s) || new URL(s).port !== '0', 'the port must be 1–65535');

/** A process to signal: not init (pid 1), not gameday itself nor the process that started it. */
export const pid = z
  .number()
  .int('a whole number')
  .min(1, 'expected a pid (a positive whole number)')
  .max(MAX_PID, `at most ${MAX_PID}`)
  .refine((p) => p !== 1, 'refusing pid 1 (init): signalling it takes the machine down')
  .refine((p) => p !== process.pid && p !== process.ppid, 'refusing to signal gameday itself or the process that started it');

/** Alertmanager: at most this many to post to (each gets every alert, every resend). */
const MAX_ALERTMANAGER_URLS = 10;
/** A re-send falls well inside an alert's 5-minute hold (src/telemetry/alerts.ts), a lost post or two included. */
const MIN_RESEND_MS = 1_000;
const MAX_RESEND_MS = 120_000;

export const alertmanagerUrls = z
  .array(httpUrl)
  .min(1, 'expected at least one Alertmanager URL')
  .max(MAX_ALERTMANAGER_URLS, `at most ${MAX_ALERTMANAGER_URLS} URLs`);
export const resendEvery = duration.refine((ms) => ms >= MIN_RESEND_MS && ms <= MAX_RESEND_MS, 'from 1s to 2m');
/** GAMEDAY_ALERTMANAGER_URL: one URL, or several separated by commas (a comma in a password: %2C). */
export const alertmanagerUrlList = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((u) => u.trim())
      .filter(Boolean),
  )
  .pipe(alertmanagerUrls);
