// What gameday tells Alertmanager, made from the run's events alone (pure: events in, alerts out),
// and what each Alertmanager has been told, so a post goes out when something changed or a resend
// is due, and never again after a 4xx. The I/O is src/telemetry/alertmanager.ts.
import type { GamedayEvent, Summary } from '../engine/events.ts';
import type { Breach } from '../engine/slis.ts';

/** One alert as Alertmanager's v2 API takes it (POST /api/v2/alerts: an array of these). */
export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
}

/**
 * A one-off alert stays firing this long after its event: long enough to be delivered and seen. An
 * open GamedayExperimentActive ends this long after its last send, so a controller killed with the
 * fault in leaves an alert that lapses by itself (the watchdog rolls the fault back).
 */
export const HOLD_MS = 5 * 60_000;
/** GamedayRollbackFailed fires until a later `recover` or `run` resolves it; Alertmanager must not let it lapse first. */
export const ROLLBACK_FAILED_HOLD_MS = 30 * 24 * 3_600_000;

type Kind = 'active' | 'one-off' | 'rollback-failed';

export interface TrackedAlert {
  key: string;
  kind: Kind;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAtMs: number;
  /** null while open (GamedayExperimentActive with the fault in): it ends HOLD_MS after each send */
  endsAtMs: number | null;
  /** ended on purpose (the fault is out, the rollback recovered): sent until delivered, never resent */
  resolved: boolean;
  /** bumped on each change: a changed alert is due everywhere again */
  version: number;
}

/** Alertmanager tells alerts apart by their label set: so does the book. */
function keyOf(labels: Record<string, string>): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

const iso = (ms: number): string => new Date(ms).toISOString();

/** Whether an alert still fires at nowMs (and so is resent). */
function isLive(a: TrackedAlert, nowMs: number): boolean {
  return !a.resolved && (a.endsAtMs === null || a.endsAtMs > nowMs);
}

/** The alert as Alertmanager takes it, at nowMs. */
export function postable(a: TrackedAlert, nowMs: number): PostableAlert {
  return { labels: a.labels, annotations: a.annotations, startsAt: iso(a.startsAtMs), endsAt: iso(a.endsAtMs ?? nowMs + HOLD_MS) };
}

/** A fatal error saying the fault may still be in place (engine/phases/rollback.ts, engine/run.ts). */
const FAULT_MAY_REMAIN = /rollback failed|may (still be in place|remain)/i;

type Raise = { alertname: string; severity: string; extra?: Record<string, string>; annotations: Record<string, string> };

/** The run's alerts, from its events. Strings are redacted: an experiment name or a reason may hold a URL's password. */
export class AlertBook {
  private readonly alerts = new Map<string, TrackedAlert>();
  private experiment: { name: string; id: string; target: string; fault: string };
  private activeKey: string | null = null;
  /** the summary has been seen: the run is over */
  ended = false;

  constructor(
    private readonly redact: (text: string) => string = (t) => t,
    known: { name: string; id: string } = { name: '', id: '' },
  ) {
    this.experiment = { ...known, target: '', fault: '' };
  }

  get all(): TrackedAlert[] {
    return [...this.alerts.values()];
  }

  /** Applies one event; true when an alert changed (due to be sent now). */
  observe(e: GamedayEvent): boolean {
    switch (e.type) {
      case 'experiment': {
        const x = e.experiment;
        this.experiment = { name: x.name, id: x.id, target: x.targetUrl, fault: x.faultLabel };
        return false;
      }
      case 'fault':
        if (e.state === 'in') return this.openActive(e.ts);
        // paused and resumed: still the experiment's fault, still active
        return e.state === 'out' && this.resolveActive(e.ts);
      case 'breach':
        return this.breach(e);
      case 'budget':
        return this.budget(e);
      case 'emergency-stop':
        return this.raise('one-off', e.ts, {
          alertname: 'GamedayEmergencyStop',
          severity: 'warning',
          annotations: {
            summary: `Emergency stop of chaos experiment "${this.experiment.name}"`,
            description: `Stopped by ${e.source}: the fault is being rolled back and no new experiment starts until the latch is cleared.`,
            source: e.source,
          },
        });
      case 'error':
        return Boolean(e.fatal) && FAULT_MAY_REMAIN.test(e.message) && this.rollbackFailed(e.ts, e.message, null);
      case 'summary':
        return this.summary(e);
      default:
        return false;
    }
  }

  /** An alert of an earlier run recorded in the state dir, now resolved (src/telemetry/open-alerts.ts). */
  resolveRecorded(alert: { labels: Record<string, string>; annotations: Record<string, string>; startsAt: string }, nowMs: number): string {
    const key = keyOf(alert.labels);
    const startsAtMs = Date.parse(alert.startsAt);
    this.alerts.set(key, {
      key,
      kind: 'rollback-failed',
      labels: alert.labels,
      annotations: alert.annotations,
      startsAtMs: Number.isFinite(startsAtMs) ? startsAtMs : nowMs,
      endsAtMs: nowMs,
      resolved: true,
      version: (this.alerts.get(key)?.version ?? 0) + 1,
    });
    return key;
  }

  private labels(alertname: string, severity: string, extra: Record<string, string> = {}): Record<string, string> {
    const own = { alertname, severity, experiment: this.experiment.name, experiment_id: this.experiment.id, ...extra };
    return Object.fromEntries(Object.entries(own).map(([k, v]) => [k, this.redact(v)]));
  }

  private raise(kind: Kind, ts: number, r: Raise): boolean {
    const labels = this.labels(r.alertname, r.severity, r.extra);
    const key = keyOf(labels);
    const before = this.alerts.get(key);
    const annotations = Object.fromEntries(Object.entries(r.annotations).map(([k, v]) => [k, this.redact(v)]));
    const endsAtMs = kind === 'active' ? null : ts + (kind === 'rollback-failed' ? ROLLBACK_FAILED_HOLD_MS : HOLD_MS);
    // the same alert again (a second breach of the same SLIs): one alert, held from its latest event
    const startsAtMs = before && isLive(before, ts) ? before.startsAtMs : ts;
    this.alerts.set(key, { key, kind, labels, annotations, startsAtMs, endsAtMs, resolved: false, version: (before?.version ?? 0) + 1 });
    if (kind === 'active') this.activeKey = key;
    return true;
  }

  private openActive(ts: number): boolean {
    if (this.activeKey && !this.alerts.get(this.activeKey)?.resolved) return false;
    const x = this.experiment;
    return this.raise('active', ts, {
      alertname: 'GamedayExperimentActive',
      severity: 'info',
      annotations: {
        summary: `Chaos experiment "${x.name}" is injecting a fault: ${x.fault}`,
        description: `gameday is running a game day against ${x.target}; it rolls back by itself on an SLO breach, and \`gameday emergency-stop\` stops it now.`,
        target: x.target,
        fault: x.fault,
      },
    });
  }

  /** endsAt = now, sent once more: Alertmanager would otherwise keep it firing until its hold lapses. */
  private resolveActive(ts: number): boolean {
    const a = this.activeKey ? this.alerts.get(this.activeKey) : undefined;
    if (!a || a.resolved) return false;
    this.alerts.set(a.key, { ...a, endsAtMs: ts, resolved: true, version: a.version + 1 });
    return true;
  }

  private breach(e: Extract<GamedayEvent, { type: 'breach' }>): boolean {
    // a built-in SLI by its name, a PromQL guard by its own
    const name = (b: Breach): string => ('sli' in b ? b.sli : b.guard);
    const what = e.breaches.map((b) => `${name(b)} ${b.value} (threshold ${b.threshold})`).join(', ');
    const numbers = Object.fromEntries(
      e.breaches.flatMap((b) => [
        [name(b), String(b.value)],
        [`${name(b)}_threshold`, String(b.threshold)],
      ]),
    );
    return this.raise('one-off', e.ts, {
      alertname: 'GamedaySloBreach',
      severity: 'warning',
      extra: { slo: e.breaches.map(name).join(',') },
      annotations: {
        summary: `SLO breached in chaos experiment "${this.experiment.name}": ${what}`,
        description: 'gameday is rolling the fault back.',
        ...numbers,
      },
    });
  }

  private budget(e: Extract<GamedayEvent, { type: 'budget' }>): boolean {
    // 50 % is shown in gameday, not paged for
    if (e.thresholdPct < 80) return false;
    return this.raise('one-off', e.ts, {
      alertname: 'GamedayBudgetThreshold',
      severity: e.thresholdPct >= 100 ? 'critical' : 'warning',
      extra: { scope: e.scope },
      annotations: {
        summary: `Chaos experiment "${this.experiment.name}" has spent ${e.thresholdPct}% of its ${e.scope} budget`,
        description: `$${e.spentUsd} of $${e.capUsd}${e.thresholdPct >= 100 ? ': spending stopped, the fault is rolled back' : ''}.`,
        threshold_pct: String(e.thresholdPct),
        spent_usd: String(e.spentUsd),
        cap_usd: String(e.capUsd),
      },
    });
  }

  private rollbackFailed(ts: number, reason: string, exitCode: number | null): boolean {
    return this.raise('rollback-failed', ts, {
      alertname: 'GamedayRollbackFailed',
      severity: 'critical',
      annotations: {
        summary: `Rollback failed in chaos experiment "${this.experiment.name}": faults may remain`,
        description: `${reason}. Remove the fault by hand; \`gameday recover\` (or the next \`gameday run\`) in the same state dir then resolves this alert.`,
        ...(exitCode === null ? {} : { exit_code: String(exitCode) }),
      },
    });
  }

  private summary(e: Extract<GamedayEvent, { type: 'summary' }> & Summary): boolean {
    this.ended = true;
    this.experiment.name ||= e.experiment;
    this.experiment.id ||= e.experimentId;
    const resolved = this.resolveActive(e.ts);
    const failed = e.status === 'rollback-failed' && this.rollbackFailed(e.ts, e.reason, e.exitCode);
    return resolved || failed;
  }
}

export type DeliveryResult = 'ok' | 'rejected' | 'failed';

/** What one Alertmanager has been told, alert by alert. */
export class Delivery {
  private readonly seen = new Map<string, { version: number; state: 'sent' | 'rejected' }>();

  /**
   * What to post now: every alert changed since this Alertmanager last took it (a resolved one until
   * it is delivered, a lapsed one-off no more); on a resend, also every live alert it took before.
   * Never an alert it rejected (4xx), until that alert changes.
   */
  due(alerts: readonly TrackedAlert[], nowMs: number, resend: boolean): TrackedAlert[] {
    return alerts.filter((a) => {
      const s = this.seen.get(a.key);
      const state = s?.version === a.version ? s.state : 'pending';
      if (state === 'rejected') return false;
      if (state === 'pending') return a.resolved || isLive(a, nowMs);
      return resend && isLive(a, nowMs);
    });
  }

  /** A post's answer. A failure changes nothing: what was pending stays pending for the next resend. */
  settle(batch: readonly TrackedAlert[], result: DeliveryResult): void {
    if (result === 'failed') return;
    for (const a of batch) {
      const s = this.seen.get(a.key);
      if (!s || s.version <= a.version) this.seen.set(a.key, { version: a.version, state: result === 'ok' ? 'sent' : 'rejected' });
    }
  }

  /** This Alertmanager answered for the alert as it is now (took it, or refused it for good). */
  answered(a: TrackedAlert): boolean {
    return this.seen.get(a.key)?.version === a.version;
  }
}
