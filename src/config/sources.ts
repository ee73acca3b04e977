// Where each budget setting came from. Four layers can set a cap (defaults < --config < environment
// < flags), and a team that set one needs to see which one won: budget-status and the run's
// preflight show these next to the values.

/** One setting's origin, as `budget-status --json` and the run's events print it. */
export type SettingSource =
  | { kind: 'default' }
  /** the --config file */
  | { kind: 'file'; path: string }
  /** an environment variable, by the name that was set (MAX_EXPERIMENT_COST or GAMEDAY_MAX_EXPERIMENT_USD) */
  | { kind: 'env'; name: string }
  | { kind: 'flag'; name: string }
  /** the experiment file's budget.budgetUsd (a run's experiment cap only) */
  | { kind: 'experiment'; path: string };

const BUDGET_FIELDS = ['costPerRequestUsd', 'maxExperimentUsd', 'dailyCapUsd'] as const;
export type BudgetField = (typeof BUDGET_FIELDS)[number];
export type BudgetSources = Record<BudgetField, SettingSource>;

/** What one layer says of the budget fields it sets; a field it leaves alone is absent. */
export type SourceLayer = Partial<Record<BudgetField, SettingSource>>;

/** Each field's source: the last layer that sets it (layers in merge order), else the defaults. */
export function budgetSources(layers: readonly SourceLayer[]): BudgetSources {
  const out = Object.fromEntries(BUDGET_FIELDS.map((f) => [f, { kind: 'default' }])) as BudgetSources;
  for (const layer of layers) {
    for (const field of BUDGET_FIELDS) {
      const source = layer[field];
      if (source) out[field] = source;
    }
  }
  return out;
}

/** The budget fields a parsed config file sets, as a layer naming that file. */
export function fileLayer(data: unknown, path: string): SourceLayer {
  const budget = (data as { budget?: unknown } | null)?.budget;
  if (budget === null || typeof budget !== 'object') return {};
  const layer: SourceLayer = {};
  for (const field of BUDGET_FIELDS) if ((budget as Record<string, unknown>)[field] !== undefined) layer[field] = { kind: 'file', path };
  return layer;
}

/** For people: "default", "config file team.yaml", "MAX_EXPERIMENT_COST", "--budget", "experiment file x.yaml". */
export function describeSource(source: SettingSource): string {
  switch (source.kind) {
    case 'default':
      return 'default';
    case 'file':
      return `config file ${source.path}`;
    case 'env':
    case 'flag':
      return source.name;
    case 'experiment':
      return `experiment file ${source.path}`;
  }
}

/** A run's three budget numbers and where each came from: its preflight and its summary carry them. */
export interface RunBudget {
  costPerRequestUsd: number;
  experimentCapUsd: number;
  dailyCapUsd: number;
  sources: Record<'costPerRequestUsd' | 'experimentCapUsd' | 'dailyCapUsd', SettingSource>;
}

/** "$0.002 per request (COST_PER_REQUEST), experiment cap $7 (MAX_EXPERIMENT_COST), daily cap $9 (default)" */
export function describeRunBudget(b: RunBudget): string {
  return (
    `$${b.costPerRequestUsd} per request (${describeSource(b.sources.costPerRequestUsd)}), ` +
    `experiment cap $${b.experimentCapUsd} (${describeSource(b.sources.experimentCapUsd)}), ` +
    `daily cap $${b.dailyCapUsd} (${describeSource(b.sources.dailyCapUsd)})`
  );
}
