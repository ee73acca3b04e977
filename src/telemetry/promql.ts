// PromQL checked before it is sent: a query Prometheus would refuse is a config error (exit 1, by
// field path), not an inconclusive guard discovered mid-experiment. The grammar is Prometheus's own
// (its lezer parser, the one its web UI uses).
import { parser } from '@prometheus-io/lezer-promql';

/** Why `query` is not PromQL ("syntax error at 14: …rate(x[1m]"), or null when it parses. */
export function promqlProblem(query: string): string | null {
  if (!query.trim()) return 'empty query';
  let at: number | null = null;
  parser.parse(query).iterate({
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
  const tree = parser.parse(query);
  tree.iterate({
    enter: (node) => {
      // VectorSelector > Identifier is the metric name (labels-only selectors have none)
      if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector') names.add(query.slice(node.from, node.to));
    },
  });
  return [...names];
}
