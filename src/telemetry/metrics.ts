// Prometheus metrics of a run (prom-client, gameday_ prefix), a face like any other: updated from
// the engine's events alone, and served on /metrics while the run lasts.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { serveMetrics, type MetricsServer } from './metrics-server.ts';
import { PHASES, type GamedayEvent } from '../engine/events.ts';
import { OUTCOMES, SLI_NAMES, type SloThresholds } from '../engine/slis.ts';
import type { DeliveryResult } from './alerts.ts';

/** The longest a finished run waits for its last scrape. */
const MAX_LINGER_MS = 10_000;

export class RunMetrics {
  readonly registry = new Registry();
  private readonly budgetSpent = new Gauge({
    name: 'gameday_budget_spent_dollars',
    help: 'Money spent, by scope',
    labelNames: ['scope'],
    registers: [this.registry],
  });
  private readonly guardValue = new Gauge({
    name: 'gameday_slo_guard_value',
    help: "A PromQL SLO guard's latest value (absent until its first conclusive answer)",
    labelNames: ['guard'],
    registers: [this.registry],
  });
  private readonly guardBound = new Gauge({
    name: 'gameday_slo_guard_bound',
    help: "A PromQL SLO guard's bound: breach above a max, below a min",
    labelNames: ['guard', 'kind'],
    registers: [this.registry],
  });
  private readonly guardState = new Gauge({
    name: 'gameday_slo_guard_state',
    help: '1 for the state a PromQL SLO guard is in',
    labelNames: ['guard', 'state'],
    registers: [this.registry],
  });
  private readonly budgetLimit = new Gauge({
    name: 'gameday_budget_limit_dollars',
    help: 'Budget cap, by scope',
    labelNames: ['scope'],
    registers: [this.registry],
  });
  private readonly requests = new Gauge({
    name: 'gameday_requests_total',
    help: "Requests sent by the traffic generator, by outcome (counter semantics, set from the generator's totals)",
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  private readonly sli = new Gauge({
    name: 'gameday_sli',
    help: 'Current SLI value over the sliding window',
    labelNames: ['sli'],
    registers: [this.registry],
  });
  private readonly slo = new Gauge({
    name: 'gameday_slo_threshold',
    help: 'SLO threshold',
    labelNames: ['sli'],
    registers: [this.registry],
  });
  private readonly impact = new Gauge({
    name: 'gameday_impact_score',
    help: 'Impact score 0-100 (100 = at an SLO threshold)',
    registers: [this.registry],
  });
  private readonly rollbacks = new Counter({
    name: 'gameday_rollbacks_total',
    help: 'Rollback steps run, by trigger and result',
    labelNames: ['trigger', 'result'],
    registers: [this.registry],
  });
  private readonly phase = new Gauge({
    name: 'gameday_experiment_phase',
    help: '1 for the current phase',
    labelNames: ['phase'],
    registers: [this.registry],
  });
  private readonly detection = new Gauge({
    name: 'gameday_detection_seconds',
    help: 'Rollback trigger minus fault start',
    registers: [this.registry],
  });
  private readonly recovery = new Gauge({
    name: 'gameday_recovery_seconds',
    help: 'Recovery verified minus rollback trigger',
    registers: [this.registry],
  });
  private readonly alertmanagerNotifications = new Counter({
    name: 'gameday_alertmanager_notifications_total',
    help: 'Posts to Alertmanager, by result: ok, rejected (4xx, not retried), failed (transport error, timeout or 5xx)',
    labelNames: ['result'],
    registers: [this.registry],
  });
  private trigger = 'none';
  private faultInAtMs: number | null = null;
  private finishedAtMs: number | null = null;
  /** when /metrics was scraped lately: the scrape interval, for close() */
  private readonly scrapesAtMs: number[] = [];
  private onScrape: (() => void) | null = null;
  private server: MetricsServer | null = null;

  constructor(thresholds: SloThresholds) {
    collectDefaultMetrics({ register: this.registry, prefix: 'gameday_process_' });
    for (const name of SLI_NAMES) this.slo.set({ sli: name }, thresholds[name]);
    for (const p of PHASES) this.phase.set({ phase: p }, 0);
    for (const o of OUTCOMES) this.requests.set({ outcome: o }, 0);
    for (const result of ['ok', 'rejected', 'failed']) this.alertmanagerNotifications.inc({ result }, 0);
  }

  /** One post to an Alertmanager and how it went (src/telemetry/alertmanager.ts). */
  countNotification = (result: DeliveryResult): void => this.alertmanagerNotifications.inc({ result });

  observe = (e: GamedayEvent): void => {
    switch (e.type) {
      case 'phase':
        for (const p of PHASES) this.phase.set({ phase: p }, p === e.phase ? 1 : 0);
        break;
      case 'fault':
        if (e.state === 'in') this.faultInAtMs = e.ts;
        break;
      case 'breach':
        // known now: a scrape during the rollback already sees it (the summary comes at the very end)
        if (this.faultInAtMs !== null) this.detection.set((e.ts - this.faultInAtMs) / 1000);
        break;
      case 'tick':
        for (const name of SLI_NAMES) this.sli.set({ sli: name }, e.slis[name]);
        this.impact.set(e.impact.score);
        this.budgetSpent.set({ scope: 'experiment' }, e.budget.experimentSpentUsd);
        this.budgetSpent.set({ scope: 'day' }, e.budget.daySpentUsd);
        this.budgetLimit.set({ scope: 'experiment' }, e.budget.experimentCapUsd);
        this.budgetLimit.set({ scope: 'day' }, e.budget.dayCapUsd);
        for (const [o, n] of Object.entries(e.byOutcome)) this.requests.set({ outcome: o }, n);
        for (const g of e.guards) {
          if (g.value !== null) this.guardValue.set({ guard: g.name }, g.value);
          this.guardBound.set({ guard: g.name, kind: g.kind }, g.bound);
          for (const state of ['ok', 'breach', 'inconclusive'] as const)
            this.guardState.set({ guard: g.name, state }, g.state === state ? 1 : 0);
        }
        break;
      case 'rollback':
        if (e.trigger) this.trigger = e.trigger;
        if (e.result !== 'started') this.rollbacks.inc({ trigger: this.trigger, result: e.result });
        break;
      case 'summary':
        if (e.detectionMs !== null) this.detection.set(e.detectionMs / 1000);
        if (e.recoveryMs !== null) this.recovery.set(e.recoveryMs / 1000);
        this.finishedAtMs = Date.now();
        break;
    }
  };

  /** Serves /metrics; returns the bound address, or null when the port is taken (a warning, not a failure). */
  async listen(host: string, port: number): Promise<string | null> {
    try {
      const render = () => this.registry.metrics();
      this.server = await serveMetrics({
        host,
        port,
        render,
        contentType: this.registry.contentType,
        onScrape: () => this.scraped(Date.now()),
      });
      return this.server.url;
    } catch {
      return null;
    }
  }

  private scraped(atMs: number): void {
    this.scrapesAtMs.push(atMs);
    if (this.scrapesAtMs.length > 20) this.scrapesAtMs.shift();
    this.onScrape?.();
  }

  /**
   * Stops serving, but only once a scraper has seen the final numbers (the summary's detection and
   * recovery, the done phase): if something scraped this run, wait for its next scrape after the
   * summary, at most two of its intervals and never more than MAX_LINGER_MS. Nobody scraping: at once.
   */
  async close(): Promise<void> {
    const gaps = this.scrapesAtMs.slice(1).map((t, i) => t - this.scrapesAtMs[i]);
    const last = this.scrapesAtMs.at(-1);
    if (this.finishedAtMs !== null && gaps.length && last !== undefined && last < this.finishedAtMs) {
      const intervalMs = gaps.sort((a, b) => a - b)[Math.floor(gaps.length / 2)];
      const waitMs = Math.min(MAX_LINGER_MS, 2 * intervalMs);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, waitMs);
        this.onScrape = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.onScrape = null;
    }
    const s = this.server;
    this.server = null;
    await s?.close();
  }
}
