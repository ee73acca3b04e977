// PromQL checked before it is sent: a query Prometheus would refuse is a config error (exit 1, by
// field path), not an inconclusive guard discovered mid-experiment. The grammar is Prometheus's own
// (its lezer parser, the one its web UI uses).
import { createRequire } from 'node:module';
import type { LRParser } from '@lezer/lr';

/**
 * Loaded on first use, not when the config schema is: most commands (budget-status, emergency-stop,
 * --help) never see a query, and the grammar is the largest thing the config would load.
 */
let loaded: LRParser | null = null;
function promqlParser(): LRParser {
  loaded ??= (createRequire(import.meta.url)('@prometheus-io/lezer-promql') as { parser: LRParser }).parser;
  return loaded;
}

/** Why `query` is not PromQL ("syntax error at 14: …rate(x[1m]"), or null when it parses. */
export function promqlProblem(query: string): string | null {
  if (!query.trim()) return 'empty query';
  let at: number | null = null;
  promqlParser()
    .parse(query)
    .iterate({
      enter: (node) => {
        if (at === null && node.type.isError) at = node.from;
        return at === null;
      },
    });
  if (at === null) return null;
  const pos: number = at;
  const near = query.slice(Math.max(0, pos - 20), pos + 20);
  return `not valid PromQL: syntax error at character ${pos + 1} (near "${near}")`;
}

/** Every metric name a query reads (for checking a dashboard against the metrics gameday exports). */
export function promqlMetricNames(query: string): string[] {
  const names = new Set<string>();
  const tree = promqlParser().parse(query);
  tree.iterate({
    enter: (node) => {
      // VectorSelector > Identifier is the metric name (labels-only selectors have none)
      if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector') names.add(query.slice(node.from, node.to));
    },
  });
  return [...names];
}
