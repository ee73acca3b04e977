// The experiment file `gameday init` writes: YAML with a comment on every section, the defaults it
// inherits from the config shown where they apply. Text rather than a YAML document built in code:
// the comments are most of it, and they sit where a person reads them.
import { durationAsWritten as d } from '../config/duration.ts';
import type { Config } from '../config/schema.ts';

/** The fault types `init --type` offers: the same as the templates in config/experiments. */
export const INIT_TYPES = ['latency', 'errors', 'blackhole', 'reset', 'bandwidth', 'process-kill'] as const;
export type InitType = (typeof INIT_TYPES)[number];

export interface InitChoice {
  type: InitType;
  /** undefined: the embedded demo */
  targetUrl: string | undefined;
  name: string;
  /** the modeline's path to config/schema.json */
  schemaRef: string;
}

/** A line of YAML and its comment, the comments in one column. */
const c = (code: string, comment: string): string => `${code.padEnd(29)} # ${comment}`;

const PROXY_HELP = [
  '  # Where the fault sits: the built-in fault proxy. Without proxy, it stands in front of the target',
  '  # itself; to fault a dependency, point the target at `listen` and the proxy at the dependency:',
  '  # proxy: { listen: 127.0.0.1:7001, upstream: http://127.0.0.1:9090 }',
];

/** Each type's fault fields (the values of its template in config/experiments), commented. */
function faultLines(type: InitType, targetUrl: string | undefined): string[] {
  switch (type) {
    case 'latency':
      return [
        c('  latency: 800ms', 'added to every hit request'),
        c('  jitter: 50ms', 'random extra, up to this'),
        c('  probability: 1.0', 'the share of requests hit (the blast radius), 0–1'),
        ...PROXY_HELP,
      ];
    case 'errors':
      return [
        c('  status: 503', 'what hit requests are answered with (400–599)'),
        c('  probability: 0.2', 'the share of requests hit (the blast radius), 0–1'),
        ...PROXY_HELP,
      ];
    case 'blackhole':
      return [c('  probability: 1.0', 'hit requests are held until the client gives up; 0–1'), ...PROXY_HELP];
    case 'reset':
      return [c('  probability: 0.5', 'hit requests get a TCP RST; 0–1'), ...PROXY_HELP];
    case 'bandwidth':
      return [
        c('  rateKbps: 8', 'answers trickle in at this rate (1–10000000)'),
        c('  probability: 1.0', 'the share of requests hit, 0–1'),
        ...PROXY_HELP,
      ];
    case 'process-kill':
      return targetUrl === undefined
        ? [
            c('  signal: SIGKILL', 'SIGKILL | SIGTERM | SIGINT | SIGSTOP (frozen; rollback sends SIGCONT)'),
            "  # Against the demo, gameday runs the demo's primary dependency as a process of its own, kills",
            '  # it, and restarts it on rollback: no pid, pidFile or restart here.',
          ]
        : [
            '  # CHANGE these two to your process: its pid file (or pid: N) and the command that brings it',
            '  # back (an argv list, run without a shell; it must exit 0 once the process is back).',
            '  pidFile: /run/CHANGE-ME.pid',
            '  restart: [systemctl, restart, CHANGE-ME]',
            c('  signal: SIGKILL', 'SIGKILL | SIGTERM | SIGINT | SIGSTOP (frozen; rollback sends SIGCONT, no restart)'),
            c('  timeout: 30s', 'for restart'),
          ];
  }
}

function targetLines(targetUrl: string | undefined): string[] {
  const head = ['# The service whose SLOs are guarded (--target overrides it). Without target: the embedded demo.'];
  return targetUrl === undefined
    ? [
        ...head,
        '# target:',
        '#   url: http://127.0.0.1:8080',
        c('#   healthPath: /healthz', 'probed every health.interval; must answer 2xx'),
      ]
    : [
        ...head,
        'target:',
        `  url: ${JSON.stringify(targetUrl)}`,
        c('  healthPath: /healthz', 'probed every health.interval; must answer 2xx'),
      ];
}

function rollbackLines(type: InitType, targetUrl: string | undefined): string[] {
  const head = [
    '# Rollback: the fault is always removed first; then these steps run, in order (each tried',
    '# rollback.attempts times). Complete examples of each: docs/rollback.md.',
  ];
  if (targetUrl === undefined && type !== 'process-kill')
    return [...head, 'rollback:', c('  - traffic-shift', "the demo's own: its dependency has a standby")];
  const examples = [
    '#   - { type: command, run: [/usr/local/bin/flip-flag, checkout-v2, "off"], timeout: 30s }',
    '#   - { type: traffic-shift, haproxy: { socket: /run/haproxy/admin.sock, backend: be_pricing, from: primary, to: standby } }',
    '#   - { type: pod-restart, deployment: checkout, namespace: shop, timeout: 2m }',
  ];
  const why = targetUrl === undefined ? ["# (none needed here: gameday restarts the demo's dependency itself)"] : ['# For example:'];
  return [...head, ...why, ...examples, 'rollback: []'];
}

function sloLines(config: Config): string[] {
  const s = config.slo;
  return [
    '# SLOs: gameday rolls the fault back the moment one is breached. Unset here, the config file',
    '# decides (these are its defaults); set one to override it for this experiment only.',
    '# slo:',
    c(`#   p95LatencyMs: ${s.p95LatencyMs}`, `p95 latency over the window above this (ms)`),
    c(`#   errorRate: ${s.errorRate}`, `5xx answers / requests above this`),
    c(`#   availability: ${s.availability}`, `answered requests / requests below this`),
    c(`#   healthFailures: ${s.healthFailures}`, `this many failed health probes in a row`),
    c(`#   window: ${d(s.window)}`, `the sliding window the SLIs are computed over (at most 1m)`),
    c(`#   minSamples: ${s.minSamples}`, `no verdict on fewer requests than this`),
    c('#   queries: []', 'PromQL guards on your own Prometheus (README: PromQL SLO guards)'),
  ];
}

/** The whole file; `config` gives the defaults the comments show. */
export function experimentYaml(choice: InitChoice, config: Config): string {
  const { type, targetUrl } = choice;
  const b = config.budget;
  const lines = [
    `# yaml-language-server: $schema=${choice.schemaRef}`,
    `# A gameday experiment, written by \`gameday init\`: fault ${type}, on ${targetUrl === undefined ? 'the embedded demo' : 'your service'}.`,
    '# Check it: gameday validate FILE. Run it: gameday run --experiment FILE. An editor with a YAML',
    '# language server (VS Code: the YAML extension) completes and checks it through the line above.',
    '# Durations: "250ms", "10s", "2m", "1h". Every field: README, Configuration.',
    '',
    `name: ${JSON.stringify(choice.name)}`,
    '',
    ...targetLines(targetUrl),
    '',
    '# The synthetic traffic gameday sends to the target; every request costs budget.costPerRequestUsd.',
    'traffic:',
    c(`  rps: 100`, `requests per second (config default ${config.traffic.rps}; at most 100000)`),
    '  path: /',
    c('  method: GET', 'GET | HEAD | POST'),
    c(`  # timeout: ${d(config.traffic.timeout)}`, `per request (config default)`),
    '',
    '# The fault: what goes wrong while it is in.',
    'fault:',
    c(`  type: ${type}`, `latency | errors | blackhole | reset | bandwidth | process-kill | command | traffic-shift`),
    ...faultLines(type, targetUrl),
    '',
    '# The phases: warmup (samples discarded), baseline (the steady state, checked before anything is',
    '# injected), the fault for `duration` (--duration overrides it), then the SLOs must hold for',
    `# recoveryWindow, within the config's rollback.recoveryTimeout (${d(config.rollback.recoveryTimeout)}), or the run exits 6.`,
    'schedule:',
    '  warmup: 1s',
    '  baseline: 5s',
    '  duration: 60s',
    '  recoveryWindow: 5s',
    '',
    ...sloLines(config),
    '',
    `# Money: each request costs $${b.costPerRequestUsd} (so 100 rps spend $${+(100 * b.costPerRequestUsd).toFixed(6)} a second). The run stops and`,
    `# rolls back when budgetUsd is spent; at most $${b.maxExperimentUsd} an experiment and $${b.dailyCapUsd} a UTC day (the config's caps).`,
    'budget:',
    '  budgetUsd: 50',
    '',
    ...rollbackLines(type, targetUrl),
    '',
  ];
  return lines.join('\n');
}
