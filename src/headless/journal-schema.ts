// The shapes a journal may hold, checked when `gameday report` reads one: a journal is a file, and a
// file can be anything. The schemas mirror the engine's event types (src/engine/events.ts); the type
// assertions at the bottom make a drift between the two a type error instead of a crash in `report`.
import * as z from 'zod';
import {
  EXIT_CODE,
  PHASES,
  type BudgetView,
  type ExperimentInfo,
  type GamedayEvent,
  type ImpactView,
  type Phase,
  type RunStatus,
  type Summary,
} from '../engine/events.ts';
import type { RunBudget } from '../config/sources.ts';
import { OUTCOMES, SLI_NAMES, type Breach, type Outcome, type SliName, type SloThresholds, type Slis } from '../engine/slis.ts';

const phase = z.enum(PHASES as [Phase, ...Phase[]]);
const sliName = z.enum(SLI_NAMES as [SliName, ...SliName[]]);
const runStatus = z.enum(Object.keys(EXIT_CODE) as [RunStatus, ...RunStatus[]]);
const trigger = z.enum(['breach', 'slo-source', 'budget', 'duration', 'emergency-stop', 'signal', 'manual', 'error']);

const SlisSchema = z.object({
  p95LatencyMs: z.number(),
  errorRate: z.number(),
  availability: z.number(),
  healthFailures: z.number(),
  samples: z.number(),
  throughputRps: z.number(),
});

const BudgetViewSchema = z.object({
  costPerRequestUsd: z.number(),
  experimentSpentUsd: z.number(),
  experimentCapUsd: z.number(),
  daySpentUsd: z.number(),
  dayReservedUsd: z.number(),
  dayCapUsd: z.number(),
  requestsSent: z.number(),
  burnUsdPerMin: z.number(),
  timeToCapMs: z.number().nullable(),
});

const ImpactViewSchema = z.object({
  score: z.number(),
  band: z.enum(['none', 'low', 'moderate', 'high', 'critical']),
  driver: z.string().nullable(),
  peak: z.number(),
});

const ThresholdsSchema = z.object({
  p95LatencyMs: z.number(),
  errorRate: z.number(),
  availability: z.number(),
  healthFailures: z.number(),
});

const ExperimentInfoSchema = z.object({
  id: z.string(),
  name: z.string(),
  targetUrl: z.string(),
  faultLabel: z.string(),
  rps: z.number(),
  durationMs: z.number(),
  baselineMs: z.number(),
  demo: z.boolean(),
});

// Journals from before the ticks carried it read as all zero.
const ByOutcomeSchema = z
  .object(Object.fromEntries(OUTCOMES.map((o) => [o, z.number()])) as Record<Outcome, z.ZodNumber>)
  .default(Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>);

const BreachSchema = z.union([
  z.object({ sli: sliName, value: z.number(), threshold: z.number() }),
  z.object({ guard: z.string(), value: z.number(), threshold: z.number(), bound: z.enum(['max', 'min']) }),
]);

const GuardViewSchema = z.object({
  name: z.string(),
  value: z.number().nullable(),
  bound: z.number(),
  kind: z.enum(['max', 'min']),
  state: z.enum(['ok', 'breach', 'inconclusive']),
  reason: z.string().optional(),
});

const SettingSourceSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('default') }),
  z.object({ kind: z.literal('file'), path: z.string() }),
  z.object({ kind: z.literal('env'), name: z.string() }),
  z.object({ kind: z.literal('flag'), name: z.string() }),
  z.object({ kind: z.literal('experiment'), path: z.string() }),
]);

const RunBudgetSchema = z.object({
  costPerRequestUsd: z.number(),
  experimentCapUsd: z.number(),
  dailyCapUsd: z.number(),
  sources: z.object({ costPerRequestUsd: SettingSourceSchema, experimentCapUsd: SettingSourceSchema, dailyCapUsd: SettingSourceSchema }),
});

export const SummarySchema = z.object({
  status: runStatus,
  exitCode: z.number(),
  experiment: z.string(),
  experimentId: z.string(),
  spentUsd: z.number(),
  requests: z.number(),
  detectionMs: z.number().nullable(),
  recoveryMs: z.number().nullable(),
  peakImpact: z.number(),
  trigger: trigger.nullable(),
  reason: z.string(),
  faultRemoved: z.boolean(),
  recoveryVerified: z.boolean().nullable(),
  durationMs: z.number(),
  journalPath: z.string().nullable(),
  // journals from before provenance have none
  budget: RunBudgetSchema.optional(),
});

const ts = z.number();
export const EventSchema = z.discriminatedUnion('type', [
  z.object({ ts, type: z.literal('experiment'), experiment: ExperimentInfoSchema, thresholds: ThresholdsSchema, minSamples: z.number() }),
  z.object({ ts, type: z.literal('phase'), phase, detail: z.string().optional() }),
  z.object({
    ts,
    type: z.literal('tick'),
    phase,
    slis: SlisSchema,
    budget: BudgetViewSchema,
    impact: ImpactViewSchema,
    faultActive: z.boolean(),
    byOutcome: ByOutcomeSchema,
    // journals from before the guards read as none
    guards: z.array(GuardViewSchema).default([]),
  }),
  z.object({ ts, type: z.literal('baseline'), slis: SlisSchema, guards: z.record(z.string(), z.number()).default({}) }),
  z.object({ ts, type: z.literal('fault'), state: z.enum(['in', 'out', 'paused', 'resumed']) }),
  z.object({ ts, type: z.literal('breach'), breaches: z.array(BreachSchema) }),
  z.object({
    ts,
    type: z.literal('budget'),
    scope: z.enum(['experiment', 'day']),
    thresholdPct: z.number(),
    spentUsd: z.number(),
    capUsd: z.number(),
  }),
  z.object({
    ts,
    type: z.literal('rollback'),
    step: z.string(),
    result: z.enum(['ok', 'failed', 'started']),
    attempt: z.number(),
    durationMs: z.number().optional(),
    trigger: trigger.optional(),
    message: z.string().optional(),
  }),
  z.object({ ts, type: z.literal('note'), text: z.string(), source: z.enum(['user', 'engine']).optional() }),
  z.object({
    ts,
    type: z.literal('preflight'),
    check: z.string(),
    ok: z.boolean(),
    detail: z.string(),
    budget: RunBudgetSchema.optional(),
  }),
  z.object({ ts, type: z.literal('emergency-stop'), source: z.string() }),
  z.object({ ts, type: z.literal('error'), message: z.string(), fatal: z.boolean().optional() }),
  z.object({ ts, type: z.literal('summary'), ...SummarySchema.shape }),
]);

/**
 * The plan as `report` uses it. The rest of the resolved plan is kept as written (loose): it is for
 * people reading the journal, and a newer or older gameday may record more or less of it.
 */
const num = z.number().optional();
const PlanSchema = z.looseObject({
  targetUrl: z.string().optional(),
  fault: z.looseObject({ type: z.string().optional() }).optional(),
  traffic: z.looseObject({ rps: num }).optional(),
  slo: z.looseObject({ p95LatencyMs: num, errorRate: num, availability: num, healthFailures: num }).optional(),
});

/** Line 1 of a version-2 journal. `journal: "gameday"` lets gameday recognise its own files. */
export const HeaderV2Schema = z.object({
  journal: z.literal('gameday'),
  version: z.literal(2),
  experimentId: z.string(),
  name: z.string(),
  startedAt: z.string(),
  plan: PlanSchema,
});

/** A version-1 journal: one JSON object holding everything. */
export const JournalV1Schema = z.object({
  version: z.literal(1),
  experimentId: z.string(),
  name: z.string(),
  startedAt: z.string(),
  plan: PlanSchema,
  events: z.array(EventSchema),
  summary: SummarySchema.nullable(),
});

// ---- the schemas and the engine's types must not drift apart ----

type Mutual<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
// mutual assignability misses an optional field added on one side only: compare the keys too
type SameKeys<A, B> = [Exclude<keyof A, keyof B> | Exclude<keyof B, keyof A>] extends [never] ? true : false;
/** true when A and B accept the same values and name the same fields */
export type SameShape<A, B> = Mutual<A, B> extends true ? SameKeys<A, B> : false;
type PerEvent = {
  [T in GamedayEvent['type']]: SameShape<Extract<GamedayEvent, { type: T }>, Extract<z.infer<typeof EventSchema>, { type: T }>>;
};
type AllTrue<T> = T[keyof T] extends true ? true : false;

// Each line is a type error when a schema above and its engine type disagree.
const _events: AllTrue<PerEvent> = true;
const _summary: SameShape<Summary, z.infer<typeof SummarySchema>> = true;
const _slis: SameShape<Slis, z.infer<typeof SlisSchema>> = true;
const _budget: SameShape<BudgetView, z.infer<typeof BudgetViewSchema>> = true;
const _impact: SameShape<ImpactView, z.infer<typeof ImpactViewSchema>> = true;
const _breach: SameShape<Breach, z.infer<typeof BreachSchema>> = true;
const _experiment: SameShape<ExperimentInfo, z.infer<typeof ExperimentInfoSchema>> = true;
const _thresholds: SameShape<SloThresholds, z.infer<typeof ThresholdsSchema>> = true;
const _runBudget: SameShape<RunBudget, z.infer<typeof RunBudgetSchema>> = true;
void [_runBudget, _events, _summary, _slis, _budget, _impact, _breach, _experiment, _thresholds];
