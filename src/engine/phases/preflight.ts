// Preflight: the latch is clear, the money covers the baseline, the fault driver is ready, the
// target answers and is healthy. Any failure refuses the run with nothing injected.
import { formatDurationMs } from '../../config/duration.ts';
import { describeRunBudget } from '../../config/sources.ts';
import { describeProxyFault } from '../../faults/driver.ts';
import { availableUsd, estimateCost } from '../budget-watch.ts';
import type { RunContext } from '../context.ts';
import { HealthProber } from '../health.ts';
import { toProxyFault } from '../topology.ts';
import { checkProgram } from '../../rollback/program.ts';
import { rollbackAction } from '../../rollback/steps.ts';

/** What the faces show of the experiment; the demo's address is known once its topology is up. */
function announce(ctx: RunContext, targetUrl?: string): void {
  const p = ctx.plan;
  const proxyFault = toProxyFault(p.fault);
  ctx.emit({
    type: 'experiment',
    experiment: {
      id: ctx.deps.experimentId,
      name: p.name,
      targetUrl: targetUrl ?? p.targetUrl ?? 'embedded demo',
      faultLabel: proxyFault ? describeProxyFault(proxyFault) : p.fault.type,
      rps: p.traffic.rps,
      durationMs: p.schedule.durationMs,
      baselineMs: p.schedule.baselineMs,
      demo: p.targetUrl === undefined,
    },
    thresholds: ctx.thresholds,
    minSamples: p.slo.minSamples,
  });
}

function checkBudget(ctx: RunContext): void {
  const p = ctx.plan;
  // Not a check that can fail: which setting won each budget number (default, --config, a variable by name, a flag).
  ctx.emit({ type: 'preflight', check: 'budget settings', ok: true, detail: describeRunBudget(p.budget), budget: p.budget });
  const totals = ctx.deps.budget.totals();
  const leftUsd = availableUsd(totals);
  const { warmupMs, baselineMs, durationMs, recoveryWindowMs } = p.schedule;
  const runMs = warmupMs + baselineMs + durationMs + recoveryWindowMs;
  const est = estimateCost({
    rps: p.traffic.rps,
    costPerRequestUsd: p.budget.costPerRequestUsd,
    baselineMs: warmupMs + baselineMs,
    durationMs,
    recoveryWindowMs,
    availableUsd: leftUsd,
  });
  const estimate = `estimated $${est.totalUsd.toFixed(2)} (${p.traffic.rps} rps × ${formatDurationMs(runMs)} × $${p.budget.costPerRequestUsd}); $${leftUsd.toFixed(2)} available`;
  const short =
    `baseline needs $${est.baselineUsd.toFixed(2)}, only $${Math.max(0, leftUsd).toFixed(2)} left (experiment cap $${totals.experimentCapUsd}, ` +
    `day $${totals.daySpentUsd.toFixed(2)} spent + $${totals.dayReservedUsd.toFixed(2)} held of $${totals.dayCapUsd})`;
  ctx.check('budget covers baseline', est.coversBaseline, est.coversBaseline ? estimate : short);
  if (!est.coversAll) {
    ctx.emit({
      type: 'note',
      source: 'engine',
      text: `budget covers about ${formatDurationMs(est.affordableMs)} of ${formatDurationMs(runMs)}: the run will stop at the cap`,
    });
  }
}

/**
 * Every way back is proven possible before the fault goes in: the fault's own restore program,
 * then each rollback step's check() (the socket answers, the file is writable, kubectl may).
 */
async function checkRollback(ctx: RunContext): Promise<void> {
  const f = ctx.plan.fault;
  const programs: Array<[string[], string]> = [];
  if (f.type === 'command') programs.push([f.inject, 'fault.inject'], [f.restore, 'fault.restore']);
  if (f.type === 'process-kill' && f.restart) programs.push([f.restart, 'fault.restart']);
  for (const [argv, what] of programs) {
    try {
      checkProgram(argv, what);
    } catch (err) {
      ctx.check('fault restore ready', false, (err as Error).message);
    }
  }
  if (programs.length) ctx.check('fault restore ready', true, programs.map(([argv, what]) => `${what}: ${argv[0]}`).join(', '));
  ctx.rollbackActions = ctx.plan.rollback.map((s) => rollbackAction(s, ctx.topology!.driver));
  for (const action of ctx.rollbackActions) {
    let problem: string | null = null;
    try {
      await action.check();
    } catch (err) {
      problem = (err as Error).message;
    }
    ctx.check(`rollback step ready: ${action.name}`, problem === null, problem ?? 'ok');
  }
}

export async function preflight(ctx: RunContext): Promise<void> {
  const p = ctx.plan;
  announce(ctx);
  ctx.setPhase('preflight');
  const latched = (await ctx.deps.link?.stopLatched()) ?? false;
  ctx.check('emergency-stop latch', !latched, latched ? 'latched: run `gameday emergency-stop --clear` first' : 'clear');
  checkBudget(ctx);

  try {
    ctx.topology = await ctx.deps.buildTopology(p);
  } catch (err) {
    ctx.check('fault driver ready', false, (err as Error).message);
  }
  const topo = ctx.topology!;
  ctx.check('fault driver ready', true, topo.driver.label);
  await checkRollback(ctx);
  if (topo.demo) {
    announce(ctx, `${topo.targetUrl} (embedded demo)`);
    const m = topo.demo.metricsUrl;
    ctx.emit({
      type: 'note',
      source: 'engine',
      text: m
        ? `the demo's request metrics, for a Prometheus to scrape: ${m}`
        : `the demo's metrics port ${p.demo.metricsPort} is taken: no demo metrics`,
    });
  }

  ctx.health = new HealthProber({
    url: topo.healthUrl,
    intervalMs: p.health.intervalMs,
    timeoutMs: p.health.timeoutMs,
    clock: ctx.deps.clock,
  });
  const probe = await ctx.health.probeOnce();
  const answered = probe.status !== undefined;
  ctx.check(
    'target reachable',
    answered,
    answered ? `${topo.healthUrl} answered in ${Math.round(probe.latencyMs)}ms` : `${topo.healthUrl}: ${probe.error ?? 'no answer'}`,
  );
  ctx.check('target healthy', probe.ok, `${topo.healthUrl} → HTTP ${probe.status}`);
}
