// Layering: defaults (config/default.yaml) < --config FILE < GAMEDAY_* environment < flags.
import { closeSync, constants, existsSync, fstatSync, openSync, readSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError, formatIssues } from './errors.ts';
import { ConfigFileSchema, ConfigSchema, ExperimentSchema, type Config, type Experiment } from './schema.ts';
import { MAX_CONFIG_FILE_BYTES, alertmanagerUrlList, httpUrl, ledgerUrl, metricsPort, positiveDuration, usd } from './bounds.ts';
import { ROOT_DIR } from './package-root.ts';
import { budgetSources, fileLayer, type BudgetField, type BudgetSources, type SourceLayer } from './sources.ts';

const DEFAULT_CONFIG_FILE = join(ROOT_DIR, 'config', 'default.yaml');
const EXPERIMENTS_DIR = join(ROOT_DIR, 'config', 'experiments');

function readProblem(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' ? 'file not found' : `cannot read file (${code ?? (err as Error).message})`;
}

/**
 * A regular file's text, reading at most maxBytes + 1 bytes: a bigger file, a device (/dev/zero
 * never ends), a FIFO or a directory is a ConfigError. Opened non-blocking, so a FIFO without a
 * writer cannot hang the open; for a regular file the flag changes nothing.
 */
function readTextFileAtMost(path: string, maxBytes: number): string {
  const tooBig = `larger than ${maxBytes} bytes (${formatBytes(maxBytes)}): refused`;
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (err) {
    throw new ConfigError([readProblem(err)], path);
  }
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) throw new ConfigError(['a directory, not a file'], path);
    if (!stat.isFile()) throw new ConfigError(['not a regular file (a device, FIFO or socket is not read)'], path);
    if (stat.size > maxBytes) throw new ConfigError([tooBig], path);
    // One byte more than allowed: a file that grew since fstat is still caught.
    const buf = Buffer.alloc(maxBytes + 1);
    let length = 0;
    for (let n; length < buf.length && (n = readSync(fd, buf, length, buf.length - length, null)) > 0;) length += n;
    if (length > maxBytes) throw new ConfigError([tooBig], path);
    return buf.toString('utf8', 0, length);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError([readProblem(err)], path);
  } finally {
    closeSync(fd);
  }
}

function formatBytes(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : bytes % 1024 === 0 ? `${bytes / 1024} KiB` : `${bytes} B`;
}

/** Reads a YAML file (at most MAX_CONFIG_FILE_BYTES) into plain data; a missing file or a syntax error is a ConfigError. */
function readYamlFile(path: string): unknown {
  const text = readTextFileAtMost(path, MAX_CONFIG_FILE_BYTES);
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) {
    throw new ConfigError(
      doc.errors.map((e) => `YAML: ${e.message.split('\n')[0]}`),
      path,
    );
  }
  try {
    return doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (err) {
    // an alias that points nowhere, or one that expands past maxAliasCount (a "billion laughs")
    throw new ConfigError([`YAML: ${(err as Error).message.split('\n')[0]}`], path);
  }
}

function deepMerge<T>(base: T, over: unknown): T {
  if (over === undefined || over === null || typeof over !== 'object' || Array.isArray(over)) return (over ?? base) as T;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(over as Record<string, unknown>)) {
    if (v === undefined) continue;
    out[k] = k in out && typeof out[k] === 'object' && !Array.isArray(out[k]) ? deepMerge(out[k], v) : v;
  }
  return out as T;
}

/**
 * The GAMEDAY_* variables, the config field each one sets, and that field's schema (bounds.ts). The
 * budget's three also answer to the names the chaos-engineering spec gives them (`alias`): the same
 * layer, so a value set under both names must be the same value.
 */
const ENV_VARS: Record<string, { path: [string, string?]; kind: 'number' | 'string'; schema: z.ZodType; alias?: string }> = {
  GAMEDAY_COST_PER_REQUEST_USD: { path: ['budget', 'costPerRequestUsd'], kind: 'number', schema: usd, alias: 'COST_PER_REQUEST' },
  GAMEDAY_MAX_EXPERIMENT_USD: { path: ['budget', 'maxExperimentUsd'], kind: 'number', schema: usd, alias: 'MAX_EXPERIMENT_COST' },
  GAMEDAY_DAILY_CAP_USD: { path: ['budget', 'dailyCapUsd'], kind: 'number', schema: usd, alias: 'DAILY_BUDGET_CAP' },
  GAMEDAY_METRICS_PORT: { path: ['metrics', 'port'], kind: 'number', schema: metricsPort },
  GAMEDAY_METRICS_HOST: { path: ['metrics', 'host'], kind: 'string', schema: ConfigSchema.shape.metrics.shape.host },
  GAMEDAY_STATE_DIR: { path: ['stateDir'], kind: 'string', schema: ConfigSchema.shape.stateDir },
  GAMEDAY_PROMETHEUS_URL: { path: ['prometheus', 'url'], kind: 'string', schema: httpUrl },
  GAMEDAY_ALERTMANAGER_URL: { path: ['alertmanager', 'urls'], kind: 'string', schema: alertmanagerUrlList },
  GAMEDAY_LEDGER_URL: { path: ['ledger', 'url'], kind: 'string', schema: ledgerUrl },
};

/**
 * Decimal notation only ("7", "7.00", "0.5", "1e9", "-1"); NaN for anything else: "" and spaces,
 * "Infinity", and the hex, octal and binary forms Number() would also take ("0x10" is 16).
 */
function numberFromText(text: string): number {
  return /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text.trim()) ? Number(text) : NaN;
}

/**
 * One value through its field's schema: the problems named by `name` (a flag or a variable) instead
 * of a field path, as `${name}: …`.
 */
function parseField<S extends z.ZodType>(name: string, schema: S, value: unknown): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => `${name}: ${i.message}`));
  return parsed.data;
}

type EnvVar = (typeof ENV_VARS)[string];

/** One variable's value through its schema; undefined when unset (or, outside the budget, empty). */
function envValue(env: NodeJS.ProcessEnv, name: string, v: EnvVar, problems: string[]): { value: unknown } | undefined {
  const raw = env[name];
  if (raw === undefined) return undefined;
  if (raw === '') {
    // A cap left empty (`MAX_EXPERIMENT_COST=`) is a mistake to name, not a default to fall back to.
    if (v.alias) problems.push(`${name}: empty; give an amount in USD, or unset it`);
    return undefined;
  }
  let value: unknown = raw;
  if (v.kind === 'number') {
    value = numberFromText(raw);
    if (!Number.isFinite(value)) {
      problems.push(`${name}: expected a number, got "${raw}"`);
      return undefined;
    }
  }
  try {
    return { value: parseField(name, v.schema, value) };
  } catch (err) {
    problems.push(...(err as ConfigError).problems);
    return undefined;
  }
}

/** Whether two parsed values of one field are the same setting: money compared in micro-dollars, the ledger's unit. */
function sameValue(a: unknown, b: unknown): boolean {
  return typeof a === 'number' && typeof b === 'number' ? Math.round(a * 1e6) === Math.round(b * 1e6) : a === b;
}

/**
 * The environment's layer and which variable set each budget field. A field set under both of its
 * names takes the value they agree on; if they disagree, neither wins: both are named.
 * `budgetProblems`: given, the budget variables' problems go there, and those fields are left to
 * the other layers, instead of failing the load (commands that spend nothing, see ConfigSources).
 */
function envLayer(
  env: NodeJS.ProcessEnv,
  budgetProblems?: (problems: string[]) => void,
): { layer: Record<string, unknown>; sources: SourceLayer } {
  const layer: Record<string, unknown> = {};
  const sources: SourceLayer = {};
  const problems: string[] = [];
  const setAside: string[] = [];
  for (const [name, v] of Object.entries(ENV_VARS)) {
    const found: string[] = [];
    const value = envValue(env, name, v, found);
    const aliased = v.alias ? envValue(env, v.alias, v, found) : undefined;
    if (value && aliased && !sameValue(value.value, aliased.value))
      found.push(`${v.alias}=${env[v.alias!]} and ${name}=${env[name]} disagree: set one of them, or both to the same amount`);
    if (found.length) {
      // a field with any problem is set by neither of its names
      (budgetProblems && v.alias ? setAside : problems).push(...found);
      continue;
    }
    const set = value ?? aliased;
    if (!set) continue;
    const [a, b] = v.path;
    if (b) layer[a] = { ...(layer[a] ?? {}), [b]: set.value };
    else layer[a] = set.value;
    // set under both names, the same amount: the GAMEDAY_ name is the one reported
    if (a === 'budget' && b) sources[b as BudgetField] = { kind: 'env', name: value ? name : v.alias! };
  }
  if (problems.length) throw new ConfigError(problems, 'environment');
  if (setAside.length) budgetProblems!(setAside);
  return { layer, sources };
}

export interface ConfigSources {
  configFile?: string;
  env?: NodeJS.ProcessEnv;
  /** already-parsed overrides from flags, same shape as a config file */
  flags?: Record<string, unknown>;
  /**
   * For the commands that spend nothing and must work when it matters most (emergency-stop,
   * recover): a bad or conflicting budget variable is handed here, to be warned about, instead of
   * failing the load. Every other problem still fails it.
   */
  budgetProblems?: (problems: string[]) => void;
}

/** The effective config; every problem reported by field path, with the layer it came from. */
export function loadConfig(sources: ConfigSources = {}): Config {
  return loadConfigWithSources(sources).config;
}

/** The effective config, and which layer set each budget field (sources.ts). */
export function loadConfigWithSources(sources: ConfigSources = {}): { config: Config; budgetSources: BudgetSources } {
  const defaults = readYamlFile(DEFAULT_CONFIG_FILE);
  let merged: unknown = defaults;
  const layers: SourceLayer[] = [];
  if (sources.configFile) {
    const fileData = readYamlFile(sources.configFile);
    const parsed = ConfigFileSchema.safeParse(fileData);
    if (!parsed.success) throw new ConfigError(formatIssues(parsed.error.issues), sources.configFile);
    merged = deepMerge(merged, fileData);
    layers.push(fileLayer(fileData, sources.configFile));
  }
  const env = envLayer(sources.env ?? process.env, sources.budgetProblems);
  merged = deepMerge(merged, env.layer);
  layers.push(env.sources);
  // no flag sets these three fields (run's --budget is the experiment's cap: plan.ts tracks it)
  if (sources.flags) merged = deepMerge(merged, sources.flags);
  const result = ConfigSchema.safeParse(merged);
  if (!result.success) throw new ConfigError(formatIssues(result.error.issues), 'configuration');
  return { config: result.data, budgetSources: budgetSources(layers) };
}

function experimentTypes(): string[] {
  if (!existsSync(EXPERIMENTS_DIR)) return [];
  return readdirSync(EXPERIMENTS_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -'.yaml'.length))
    .sort();
}

export function experimentTypeFile(type: string): string {
  const types = experimentTypes();
  if (!types.includes(type)) {
    throw new ConfigError([`--experiment-type: unknown type "${type}"; available: ${types.join(', ')}`]);
  }
  return join(EXPERIMENTS_DIR, `${type}.yaml`);
}

/** Parses experiment data; every problem by field path, prefixed by the file name. */
function parseExperiment(data: unknown, source: string): Experiment {
  const parsed = ExperimentSchema.safeParse(data);
  if (!parsed.success) throw new ConfigError(formatIssues(parsed.error.issues), source);
  return parsed.data;
}

export function loadExperimentFile(path: string): Experiment {
  return parseExperiment(readYamlFile(path), path);
}

/** A duration flag such as --duration 2m, through the field's own schema; problems name the flag. */
export function parseDurationFlag(flag: string, text: string, schema: z.ZodType<number, unknown> = positiveDuration): number {
  return parseField(flag, schema, text.trim());
}

/** A text flag such as --ledger URL, through the field's own schema; problems name the flag. */
export function parseTextFlag<S extends z.ZodType>(flag: string, text: string, schema: S): z.output<S> {
  return parseField(flag, schema, text);
}

/** A number flag such as --rps 50, through the field's own schema; problems name the flag. */
export function parseNumberFlag(flag: string, text: string, schema: z.ZodType<number, unknown>): number {
  const n = numberFromText(text);
  if (!Number.isFinite(n)) throw new ConfigError([`${flag}: expected a number, got "${text}"`]);
  return parseField(flag, schema, n);
}
