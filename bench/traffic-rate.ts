// The traffic generator's highest sustained open-loop rate, budget accounting included, against the
// demo and/or a real nginx, each in its own process; anchored on autocannon (closed loop) against
// the same target, same run. Then how it behaves when the target stalls.
//
//   node --import tsx bench/traffic-rate.ts [--target demo|nginx|both] [--reps 3] [--step-ms 4000]
//       [--connections N] [--label before]
//
// --connections N caps the generator's connections (TrafficOptions.connections; default: the
// generator's own sizing), to see how that affects the target.
// The medians go into bench/results.json (bench/results.ts) as `traffic-rate`, or as
// `traffic-rate [label]` with --label (to keep a before and an after side by side).
//
// Per repetition, between two autocannon runs (5 s × 50 connections; the rep's anchor is their
// mean): against the demo, the generator's rate ladder with a MemoryBudget and with the SQLite
// ledger (a temp state dir) as the budget, in alternating order; against nginx (`return 200`, one
// worker), the memory ladder only. Each step is a fresh generator (timeout 2 s, maxInFlight 2000,
// as the defaults) at a fixed rate for --step-ms: the first 500 ms warm up and are not judged. An
// engine-like tick runs every 250 ms as in run.ts (window.evaluate with slowInFlightAges,
// budget.totals()). A step passes ("sustained") when, of the requests scheduled in the judged part:
//   - ≥ 97 % were answered 2xx (so sent and completed), none timed out or failed,
//   - the backlog at the end of the step is below 50 ms worth of requests (no backlog growth),
//   - p99 latency measured from the scheduled send time is < 250 ms.
// A failing step is tried a second time (machine noise); the ladder stops at the first step that
// fails twice, then bisects twice between the last pass and that failure. Sustained rate
// = the highest passing step. Between steps the bench waits until the target answers 5 probes in a
// row within 100 ms (at most 10 s): an overloaded demo keeps working on requests whose clients gave
// up, so a failed step would otherwise poison the next one.
// Printed per step: TCP connections the generator opened (conns+), the bench process's CPU (the
// generator's side), the worst event-loop lag, and the time spent inside the budget's calls
// (reserve/report/totals: the ledger's cost).
// The stall step, once per rep: at a rate the target takes easily (demo 500 rps, nginx 4000 rps)
// the target is stopped (SIGSTOP; nginx's whole process group) for 3 s, 2 s into a 9 s step:
// the most requests in flight and the connections opened from then on (against rps × the mean
// latency before the stall), the requests never sent, and the time from the resume until every
// 250 ms of schedule is again ≥ 95 % answered within 250 ms.
// Control (demo mode), once at the end: the same ladder (memory budget) against a trivial HTTP
// server in its own process, to tell the generator's own ceiling from the demo's; then paired
// memory/ledger steps at 2000 rps against it, to see the ledger's cost without the demo's noise.
import autocannon from 'autocannon';
import * as hdr from 'hdr-histogram-js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { MemoryBudget, type BudgetAccount, type BudgetTotals, type ReserveResult } from '../src/budget/budget.ts';
import { Ledger } from '../src/budget/sqlite-ledger.ts';
import type { Outcome } from '../src/engine/slis.ts';
import { SloWindow } from '../src/engine/slo-window.ts';
import { TrafficGenerator } from '../src/engine/traffic.ts';
import { spawn } from 'node:child_process';
import diagnostics from 'node:diagnostics_channel';
import { fmtNum, intArg, machineLine, median, nowMs, ratio, row, sleep, spawnDemo, spawnNginx } from './lib.ts';
import { RESULTS_FILE, writeResults, type BenchResult } from './results.ts';

/** A trivial keep-alive server answering 200 "ok" at once, in its own process. */
async function spawnTrivialServer(): Promise<{ url: string; stop(): void }> {
  const code = `const s=require('http').createServer({keepAlive:true},(q,r)=>{r.writeHead(200,{'content-length':2});r.end('ok')});s.keepAliveTimeout=30000;s.listen(0,'127.0.0.1',()=>console.log(s.address().port))`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((res) => child.stdout.once('data', (d) => res(String(d).trim())));
  return { url: `http://127.0.0.1:${port}`, stop: () => child.kill('SIGTERM') };
}

const LADDER = [500, 1000, 1500, 2000, 3000, 4000, 5000, 6000, 8000, 12000, 16000];
/** the control: the generator against a trivial server (its own ceiling, not the demo's) */
const CEILING_LADDER = [2000, 4000, 8000];
/** against nginx (`return 200`): autocannon does about 30,000 req/s there on this machine */
const NGINX_LADDER = [2000, 4000, 6000, 8000, 10000, 12000, 14000, 16000, 20000, 24000, 28000, 32000, 40000, 48000, 56000, 64000];
/** the stall steps: rates each target takes easily */
const DEMO_STALL_RPS = 500;
const NGINX_STALL_RPS = 4000;
/** the control's paired memory/ledger steps: a rate the trivial server takes easily */
const PAIRED_RPS = 2000;
const WARM_MS = 500;
const BISECTIONS = 2;
const TICK_MS = 250;
const TIMEOUT_MS = 2_000;
const MAX_IN_FLIGHT = 2_000;
const PASS_SHARE = 0.97;
const P99_LIMIT_MS = 250;
const AUTOCANNON = { connections: 50, duration: 5 };

/** SloWindow that also keeps the judged part's own tally (by scheduled time). */
class JudgeWindow extends SloWindow {
  readonly hist = hdr.build({
    bitBucketSize: 32,
    numberOfSignificantValueDigits: 3,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    autoResize: false,
    useWebAssembly: false,
  });
  readonly counts: Record<Outcome, number> = { ok: 0, error: 0, timeout: 0, reset: 0, refused: 0 };
  fromMs = Infinity;
  toMs = Infinity;

  override record(outcome: Outcome, latencyMs: number, atMs: number): void {
    super.record(outcome, latencyMs, atMs);
    const scheduledMs = atMs - latencyMs;
    if (scheduledMs < this.fromMs || scheduledMs >= this.toMs) return;
    this.counts[outcome]++;
    this.hist.recordValue(Math.max(0, Math.round(latencyMs * 1000)));
  }
}

/** A budget that times its own calls (synchronous: SQLite work blocks the event loop). */
class TimedBudget implements BudgetAccount {
  ms = 0;
  maxMs = 0;
  constructor(private readonly inner: BudgetAccount) {}
  get costPerRequestUsd(): number {
    return this.inner.costPerRequestUsd;
  }
  private timed<T>(fn: () => T): T {
    const t = performance.now();
    try {
      return fn();
    } finally {
      const d = performance.now() - t;
      this.ms += d;
      this.maxMs = Math.max(this.maxMs, d);
    }
  }
  // The ledger's calls do their work before they first yield: timing the call times the event-loop block.
  reserve(requests: number): Promise<ReserveResult> {
    return this.timed(() => this.inner.reserve(requests));
  }
  report(sentRequests: number): Promise<void> {
    return this.timed(() => this.inner.report(sentRequests));
  }
  settle(sentRequests: number): Promise<void> {
    return this.timed(() => this.inner.settle(sentRequests));
  }
  totals(): BudgetTotals {
    return this.timed(() => this.inner.totals());
  }
}

/** Waits until the demo answers `n` probes in a row within `fastMs`; false after `capMs`. */
async function demoSettled(targetUrl: string, n = 5, fastMs = 100, capMs = 10_000): Promise<boolean> {
  const until = nowMs() + capMs;
  let streak = 0;
  while (nowMs() < until) {
    const t = nowMs();
    try {
      const res = await request(targetUrl + '/', { headersTimeout: 2_000, bodyTimeout: 2_000 });
      await res.body.dump();
      streak = res.statusCode === 200 && nowMs() - t < fastMs ? streak + 1 : 0;
    } catch {
      streak = 0;
    }
    if (streak >= n) return true;
    await sleep(50);
  }
  return false;
}

interface Step {
  rps: number;
  pass: boolean;
  why: string;
  /** 2xx answers of the judged part per second */
  okRps: number;
  p99Ms: number;
  backlogEnd: number;
  sent: number;
  /** TCP connections the generator opened during the step (connection storms show here) */
  connects: number;
  /** bench process CPU over the step, % of one core */
  cpuPct: number;
  maxLagMs: number;
  /** ms spent inside budget calls per second of step, and the longest single call */
  budgetMsPerS: number;
  budgetMaxMs: number;
}

/** --connections: undefined = the generator's default pool size */
let connections: number | undefined;

/** TCP connections undici opened in this process (the generator's; autocannon has its own client) */
let connects = 0;
diagnostics.subscribe('undici:client:connected', () => connects++);

/** A generator as the engine makes one (the defaults' timeout and maxInFlight), on the bench's clock. */
function benchGenerator(targetUrl: string, rps: number, budget: BudgetAccount, window: SloWindow): TrafficGenerator {
  return new TrafficGenerator({
    targetUrl,
    path: '/',
    rps,
    timeoutMs: TIMEOUT_MS,
    maxInFlight: MAX_IN_FLIGHT,
    connections,
    budget,
    window,
    now: nowMs,
  });
}

async function runStep(targetUrl: string, rps: number, stepMs: number, account: BudgetAccount): Promise<Step> {
  const budget = new TimedBudget(account);
  const window = new JudgeWindow({ windowMs: 5_000 });
  const gen = benchGenerator(targetUrl, rps, budget, window);
  const t0 = nowMs();
  window.fromMs = t0 + WARM_MS;
  window.toMs = t0 + stepMs;
  const cpu0 = process.cpuUsage();
  const connects0 = connects;
  let maxLagMs = 0;
  let lastLagMs = nowMs();
  const lagTimer = setInterval(() => {
    const t = nowMs();
    maxLagMs = Math.max(maxLagMs, t - lastLagMs - 20);
    lastLagMs = t;
  }, 20);
  await gen.start();
  // as the engine's tick (monitor.ts): the SLIs (with in-flight ages) and the budget totals, every 250 ms
  const tick = setInterval(() => {
    const t = nowMs();
    window.evaluate(t, gen.slowInFlightAges(t, 500), 0);
    budget.totals();
  }, TICK_MS);
  await sleep(t0 + stepMs - nowMs());
  clearInterval(tick);
  clearInterval(lagTimer);
  const cpu = process.cpuUsage(cpu0);
  const stepConnects = connects - connects0;
  const budgetMs = budget.ms; // settle() below is outside the traffic: not counted
  const budgetMaxMs = budget.maxMs;
  const backlogEnd = gen.stats().backlog;
  await gen.stop(); // drops the backlog (never sent), waits for in-flight requests (≤ timeout)
  const sent = gen.stats().sent;
  await budget.settle(sent);

  const judgedMs = stepMs - WARM_MS;
  const expected = Math.floor((judgedMs * rps) / 1000);
  const c = window.counts;
  const failed = c.error + c.timeout + c.reset + c.refused;
  const p99Ms = window.hist.totalCount > 0 ? window.hist.getValueAtPercentile(99) / 1000 : NaN;
  const why: string[] = [];
  if (c.ok < PASS_SHARE * expected) why.push(`ok ${((100 * c.ok) / expected).toFixed(1)}%`);
  if (failed > 0) why.push(`${failed} failed (${c.timeout} timeouts)`);
  if (backlogEnd >= rps * 0.05) why.push(`backlog ${backlogEnd}`);
  if (!(p99Ms < P99_LIMIT_MS)) why.push(`p99 ${fmtNum(p99Ms)}ms`);
  return {
    rps,
    pass: why.length === 0,
    why: why.join(', ') || 'ok',
    okRps: (c.ok * 1000) / judgedMs,
    p99Ms,
    backlogEnd,
    sent,
    connects: stepConnects,
    cpuPct: ((cpu.user + cpu.system) / 1000 / stepMs) * 100,
    maxLagMs,
    budgetMsPerS: (budgetMs * 1000) / stepMs,
    budgetMaxMs,
  };
}

function fmtStep(label: string, s: Step): string {
  return `  ${label.padEnd(7)} ${String(s.rps).padStart(6)} rps: ${s.pass ? 'PASS' : 'fail'}  2xx ${fmtNum(s.okRps).padStart(6)}/s  p99 ${fmtNum(s.p99Ms, 1).padStart(7)} ms  backlog ${String(s.backlogEnd).padStart(4)}  conns+ ${String(s.connects).padStart(4)}  cpu ${fmtNum(s.cpuPct).padStart(3)}%  lag ${fmtNum(s.maxLagMs).padStart(4)} ms  budget ${fmtNum(s.budgetMsPerS, 2)} ms/s max ${fmtNum(s.budgetMaxMs, 1)} ms  (${s.why})`;
}

async function ladder(
  label: string,
  targetUrl: string,
  stepMs: number,
  budgetFor: (rps: number) => BudgetAccount,
  rates = LADDER,
): Promise<{ sustained: number; steps: Step[] }> {
  const steps: Step[] = [];
  const attempt = async (rps: number, again: boolean): Promise<Step> => {
    const s = await runStep(targetUrl, rps, stepMs, budgetFor(rps));
    steps.push(s);
    console.log(fmtStep(again ? `${label}²` : label, s));
    await sleep(300);
    if (!(await demoSettled(targetUrl))) console.log('  (target still slow 10 s after the step; going on)');
    return s;
  };
  // A failed step gets a second chance: on a shared machine a neighbour's burst can stall us for
  // 100-300 ms, which alone breaks a p99 of 250 ms.
  const run = async (rps: number): Promise<Step> => {
    const s = await attempt(rps, false);
    return s.pass ? s : attempt(rps, true);
  };
  let sustained = 0;
  let failedAt: number | null = null;
  for (const rps of rates) {
    const s = await run(rps);
    if (!s.pass) {
      failedAt = rps;
      break;
    }
    sustained = rps;
  }
  // Two bisection steps between the last pass and that failure (a quarter of the ladder's step),
  // one attempt each: the bench has a time budget.
  for (let i = 0; i < BISECTIONS && failedAt !== null; i++) {
    const mid = Math.round((sustained + failedAt) / 2 / 100) * 100;
    if (!(mid > sustained && mid < failedAt)) break;
    if ((await attempt(mid, false)).pass) sustained = mid;
    else failedAt = mid;
  }
  return { sustained, steps };
}

interface Rep {
  /** autocannon before this rep's ladders, and after them (the next rep's "before") */
  acBefore: number;
  acAfter: number;
  memory: number;
  ledger: number;
  /** the memory ladder's top passing rate, and both budgets' figures at that rate */
  topRps: number;
  topMemory: Step | null;
  topLedger: Step | null;
  stall: Stall;
}

async function runAutocannon(url: string): Promise<number> {
  const ac = await autocannon({ url, ...AUTOCANNON });
  console.log(
    `  autocannon: ${fmtNum(ac.requests.average)} req/s mean (p50 ${ac.latency.p50} ms, p99 ${ac.latency.p99} ms, ${ac.non2xx} non-2xx, ${ac.errors} errors)`,
  );
  await sleep(300);
  return ac.requests.average;
}

/** SloWindow that keeps every record by scheduled time (the stall step: recovery bucket by bucket). */
class TraceWindow extends SloWindow {
  readonly records: Array<{ scheduledMs: number; ok: boolean; latencyMs: number }> = [];
  override record(outcome: Outcome, latencyMs: number, atMs: number): void {
    super.record(outcome, latencyMs, atMs);
    this.records.push({ scheduledMs: atMs - latencyMs, ok: outcome === 'ok', latencyMs });
  }
}

interface Stall {
  rps: number;
  /** Little's law before the stall: rps × mean latency of the 1.5 s before it */
  needed: number;
  /** most requests in flight before the stall, and from its start to the end of the step */
  peakBefore: number;
  peakDuring: number;
  /** TCP connections the generator opened before the stall, and from its start to the end */
  connsBefore: number;
  connsDuring: number;
  /** requests never sent (dropped from the backlog past their timeout: the generator's shortfall) */
  dropped: number;
  /** sent requests recorded as timeouts */
  timedOut: number;
  /** resume → the first 250 ms bucket (by scheduled time) from which every bucket had ≥ 95 % answered 2xx within 250 ms */
  recoveryMs: number;
}

const STALL = { beforeMs: 2_000, stallMs: 3_000, afterMs: 4_000, bucketMs: 250 };

/**
 * The target stops answering (SIGSTOP) for STALL.stallMs in the middle of a step at a rate it
 * takes easily: how many requests the generator then keeps in flight, how many connections it
 * opens, and how soon it is answered at the offered rate again after the target resumes.
 */
async function stallStep(targetUrl: string, rps: number, pause: () => void, resume: () => void): Promise<Stall> {
  const window = new TraceWindow({ windowMs: 5_000 });
  const gen = benchGenerator(targetUrl, rps, new MemoryBudget({ costPerRequestUsd: 0.001, experimentCapUsd: 1e6, dayCapUsd: 1e6 }), window);
  const connects0 = connects;
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, gen.stats().inFlight)), 5);
  const t0 = nowMs();
  await gen.start();
  await sleep(t0 + STALL.beforeMs - nowMs());
  const pausedMs = nowMs();
  pause();
  const peakBefore = peak;
  const connsBefore = connects - connects0;
  const before = gen.stats();
  peak = 0;
  await sleep(STALL.stallMs);
  resume();
  const resumedMs = nowMs();
  await sleep(STALL.afterMs);
  const endMs = nowMs();
  clearInterval(sampler);
  const after = gen.stats();
  await gen.stop();
  const warm = window.records.filter((r) => r.scheduledMs >= t0 + 500 && r.scheduledMs < pausedMs && r.ok);
  const meanMs = warm.reduce((a, r) => a + r.latencyMs, 0) / Math.max(1, warm.length);
  return {
    rps,
    needed: (rps * meanMs) / 1000,
    peakBefore,
    peakDuring: peak,
    connsBefore,
    connsDuring: connects - connects0 - connsBefore,
    dropped: after.droppedBacklog - before.droppedBacklog,
    timedOut: after.byOutcome.timeout - before.byOutcome.timeout - (after.droppedBacklog - before.droppedBacklog),
    recoveryMs: recoveryAfter(window.records, resumedMs, endMs - TIMEOUT_MS, rps),
  };
}

/** ms from `fromMs` to the first bucket from which every bucket (until `toMs`) was served well. */
function recoveryAfter(records: TraceWindow['records'], fromMs: number, toMs: number, rps: number): number {
  const n = Math.floor((toMs - fromMs) / STALL.bucketMs);
  const good = new Array<number>(n).fill(0);
  for (const r of records) {
    const i = Math.floor((r.scheduledMs - fromMs) / STALL.bucketMs);
    if (i >= 0 && i < n && r.ok && r.latencyMs < P99_LIMIT_MS) good[i]++;
  }
  const expected = (rps * STALL.bucketMs) / 1000;
  let first = n;
  while (first > 0 && good[first - 1] >= 0.95 * expected) first--;
  return first === n ? NaN : first * STALL.bucketMs;
}

function fmtStall(s: Stall): string {
  return `  stall   ${String(s.rps).padStart(6)} rps: ${STALL.stallMs} ms stopped; needed ≈ ${fmtNum(s.needed, 1)} in flight; peak in flight ${s.peakBefore} before, ${s.peakDuring} during/after; conns+ ${s.connsBefore} before, ${s.connsDuring} during/after; ${s.dropped} never sent, ${s.timedOut} sent and timed out; recovered ${fmtNum(s.recoveryMs)} ms after resume`;
}

type Figure = BenchResult;

const round = (x: number, digits = 2): number => (Number.isFinite(x) ? Number(x.toFixed(digits)) : NaN);

function figure(name: string, value: number, unit: string, anchor: string, anchorValue: number, goal: string | null, r?: number): Figure {
  return {
    name,
    value: round(value, 1),
    unit,
    anchor,
    anchorValue: round(anchorValue, 1),
    ratio: round(r ?? value / anchorValue),
    goal: goal ?? '—',
  };
}

function stallFigures(mode: string, reps: Rep[]): Figure[] {
  const s = (f: (x: Stall) => number): number => median(reps.map((r) => f(r.stall)));
  const rps = reps[0]?.stall.rps ?? NaN;
  const at = `during a ${STALL.stallMs / 1000} s stall of the target at ${rps} rps`;
  const little = `rps × mean latency before the stall (Little's law)`;
  return [
    figure(
      `${mode}: peak requests in flight ${at}`,
      s((x) => x.peakDuring),
      'requests',
      little,
      s((x) => x.needed),
      'bounded near latency × rate',
    ),
    figure(
      `${mode}: connections opened ${at} and after it`,
      s((x) => x.connsDuring),
      'connections',
      little,
      s((x) => x.needed),
      'no storm',
    ),
    figure(
      `${mode}: requests never sent (generator's shortfall) ${at}`,
      s((x) => x.dropped),
      'requests',
      'requests scheduled during the stall',
      (rps * STALL.stallMs) / 1000,
      null,
    ),
    figure(
      `${mode}: recovery after the stall (answered at rate within 250 ms again)`,
      s((x) => x.recoveryMs),
      'ms',
      'stall length',
      STALL.stallMs,
      null,
    ),
  ];
}

function printReps(results: Rep[], ledger: boolean): void {
  const anchor = (r: Rep): number => (r.acBefore + r.acAfter) / 2;
  const W = [4, 11, 11, 11, 9, 9, 12, 16, 16];
  console.log('\n## per rep');
  console.log(row(['rep', 'ac before', 'ac after', 'gen memory', 'gen/ac', 'ledger', 'ledger/ac', 'top-step 2xx/s', 'budget ms/s'], W));
  console.log(row(['', '', '', '', '', '', '', 'memory/ledger', 'memory/ledger'], W));
  results.forEach((r, i) =>
    console.log(
      row(
        [
          i + 1,
          fmtNum(r.acBefore),
          fmtNum(r.acAfter),
          r.memory,
          ratio(r.memory, anchor(r)),
          ledger ? r.ledger : '—',
          ledger ? ratio(r.ledger, anchor(r)) : '—',
          `${fmtNum(r.topMemory?.okRps)}/${fmtNum(r.topLedger?.okRps)}@${r.topRps}`,
          `${fmtNum(r.topMemory?.budgetMsPerS, 2)}/${fmtNum(r.topLedger?.budgetMsPerS, 2)}`,
        ],
        W,
      ),
    ),
  );
  for (const r of results) console.log(fmtStall(r.stall));
}

interface Target {
  url: string;
  pause(): void;
  resume(): void;
}

/** One rep's ladders between two autocannon runs, then the stall step. */
async function runRep(
  target: Target,
  acBefore: number,
  stepMs: number,
  budgets: Budgets,
  ladderRates: number[],
  stallRps: number,
): Promise<Rep> {
  const kinds = budgets.ledger ? budgets.order : (['memory'] as const);
  const out: Partial<Record<'memory' | 'ledger', { sustained: number; steps: Step[] }>> = {};
  for (const kind of kinds)
    out[kind] = await ladder(kind, target.url, stepMs, kind === 'memory' ? budgets.memory : budgets.ledger!, ladderRates);
  const top = out.memory!.sustained;
  // the ledger at the memory ladder's top rate (run it if its own ladder did not)
  let topLedger = out.ledger?.steps.filter((s) => s.rps === top).at(-1) ?? null;
  if (budgets.ledger && top > 0 && topLedger === null) {
    topLedger = await runStep(target.url, top, stepMs, budgets.ledger());
    console.log(fmtStep('ledger@', topLedger));
    await demoSettled(target.url);
  }
  const stall = await stallStep(target.url, stallRps, target.pause, target.resume);
  console.log(fmtStall(stall));
  await demoSettled(target.url);
  const acAfter = await runAutocannon(target.url);
  const ledger = out.ledger?.sustained ?? NaN;
  console.log(
    `  → sustained: memory ${top} rps${budgets.ledger ? `, ledger ${ledger} rps` : ''}; anchor ${fmtNum((acBefore + acAfter) / 2)} req/s`,
  );
  return {
    acBefore,
    acAfter,
    memory: top,
    ledger,
    topRps: top,
    topMemory: out.memory!.steps.filter((s) => s.rps === top).at(-1) ?? null,
    topLedger,
    stall,
  };
}

interface Budgets {
  memory: () => BudgetAccount;
  ledger?: () => BudgetAccount;
  order: readonly ['memory', 'ledger'] | readonly ['ledger', 'memory'];
}

const memoryBudget = (): BudgetAccount => new MemoryBudget({ costPerRequestUsd: 0.001, experimentCapUsd: 1e6, dayCapUsd: 1e6 });

async function demoMode(reps: number, stepMs: number): Promise<Figure[]> {
  console.log(`\n# target: the demo, in its own process (ladders with both budgets; stall at ${DEMO_STALL_RPS} rps)`);
  const demo = await spawnDemo();
  const pid = demo.child.pid!;
  const target: Target = { url: demo.targetUrl, pause: () => process.kill(pid, 'SIGSTOP'), resume: () => process.kill(pid, 'SIGCONT') };
  const stateRoot = mkdtempSync(join(tmpdir(), 'gameday-bench-rate-'));
  const results: Rep[] = [];
  try {
    // JIT warm-up of both processes; not counted
    await autocannon({ url: demo.targetUrl, connections: AUTOCANNON.connections, duration: 1 });
    let acBefore = await runAutocannon(demo.targetUrl);
    for (let rep = 1; rep <= reps; rep++) {
      console.log(`\n## demo, rep ${rep}`);
      const ledger = Ledger.open(join(stateRoot, `rep-${rep}`));
      let n = 0;
      const ledgerBudget = () =>
        ledger.registerExperiment({ name: `bench-rate-${++n}`, experimentCapUsd: 1e6, dailyCapUsd: 1e6, costPerRequestUsd: 0.001 });
      try {
        const order = rep % 2 === 1 ? (['memory', 'ledger'] as const) : (['ledger', 'memory'] as const);
        const r = await runRep(target, acBefore, stepMs, { memory: memoryBudget, ledger: ledgerBudget, order }, LADDER, DEMO_STALL_RPS);
        results.push(r);
        acBefore = r.acAfter;
      } finally {
        ledger.close();
      }
    }
  } finally {
    target.resume();
    await demo.stop();
    rmSync(stateRoot, { recursive: true, force: true });
  }
  const control = await trivialControl(stepMs);
  printReps(results, true);
  return [...summarise('demo', results, true, '≥ 0.95', control), ...stallFigures('demo', results)];
}

async function nginxMode(reps: number, stepMs: number): Promise<Figure[]> {
  console.log(`\n# target: nginx (return 200, 1 worker), in its own process (memory budget; stall at ${NGINX_STALL_RPS} rps)`);
  const nginx = await spawnNginx();
  const target: Target = { url: nginx.url, pause: nginx.pause, resume: nginx.resume };
  const results: Rep[] = [];
  try {
    await autocannon({ url: nginx.url, connections: AUTOCANNON.connections, duration: 1 });
    let acBefore = await runAutocannon(nginx.url);
    for (let rep = 1; rep <= reps; rep++) {
      console.log(`\n## nginx, rep ${rep}`);
      const r = await runRep(
        target,
        acBefore,
        stepMs,
        { memory: memoryBudget, order: ['memory', 'ledger'] },
        NGINX_LADDER,
        NGINX_STALL_RPS,
      );
      results.push(r);
      acBefore = r.acAfter;
    }
  } finally {
    await nginx.stop();
  }
  printReps(results, false);
  return [...summarise('nginx', results, false, '≥ 0.5'), ...stallFigures('nginx', results)];
}

interface Control {
  ceiling: number;
  paired: Record<'memory' | 'ledger', Step[]>;
}

/** The generator against a trivial server: its own ceiling, and the ledger's cost without the demo's noise. */
async function trivialControl(stepMs: number): Promise<Control> {
  console.log('\n## control: the generator against a trivial server (memory budget)');
  const trivial = await spawnTrivialServer();
  const paired: Control['paired'] = { memory: [], ledger: [] };
  const pairedDir = mkdtempSync(join(tmpdir(), 'gameday-bench-rate-'));
  const pairedLedger = Ledger.open(pairedDir);
  try {
    const ceiling = (await ladder('trivial', trivial.url, stepMs, memoryBudget, CEILING_LADDER)).sustained;
    console.log(`  paired memory/ledger steps against the trivial server at ${PAIRED_RPS} rps:`);
    for (const kind of ['memory', 'ledger', 'ledger', 'memory'] as const) {
      const budget =
        kind === 'memory'
          ? memoryBudget()
          : pairedLedger.registerExperiment({
              name: 'bench-rate-paired',
              experimentCapUsd: 1e6,
              dailyCapUsd: 1e6,
              costPerRequestUsd: 0.001,
            });
      const st = await runStep(trivial.url, PAIRED_RPS, stepMs, budget);
      paired[kind].push(st);
      console.log(fmtStep(kind, st));
      await sleep(300);
    }
    return { ceiling, paired };
  } finally {
    trivial.stop();
    pairedLedger.close();
    rmSync(pairedDir, { recursive: true, force: true });
  }
}

/** Prints the medians and ratios; returns them as figures. */
function summarise(mode: string, results: Rep[], withLedger: boolean, goal: string, control?: Control): Figure[] {
  const anchor = (r: Rep): number => (r.acBefore + r.acAfter) / 2;
  const ac = median(results.map(anchor));
  const mem = median(results.map((r) => r.memory));
  const memRatio = median(results.map((r) => r.memory / anchor(r)));
  const acName = `autocannon, ${AUTOCANNON.connections} connections, closed loop (req/s)`;
  const p99 = median(results.map((r) => r.topMemory?.p99Ms));
  console.log(`\n## medians, ${mode}`);
  console.log(`autocannon (anchor, closed loop, ${AUTOCANNON.connections} conns)   ${fmtNum(ac)} req/s`);
  console.log(`generator sustained, memory budget          ${fmtNum(mem)} rps (p99 from scheduled time at that step ${fmtNum(p99, 1)} ms)`);
  console.log(
    `ratio generator(memory)/autocannon          ${ratio(memRatio, 1)} (median of per-rep ratios; ratio of medians ${ratio(mem, ac)})   goal ${goal}`,
  );
  const figures = [
    figure(`${mode}: generator sustained open-loop rate, memory budget`, mem, 'rps', acName, ac, goal, memRatio),
    figure(`${mode}: p99 from the scheduled send time at the top sustained step`, p99, 'ms', 'pass limit', P99_LIMIT_MS, '< 250 ms'),
  ];
  if (withLedger) {
    const led = median(results.map((r) => r.ledger));
    const ledRatio = median(results.map((r) => r.ledger / anchor(r)));
    console.log(`generator sustained, SQLite ledger budget   ${fmtNum(led)} rps`);
    console.log(`ratio generator(ledger)/autocannon          ${ratio(ledRatio, 1)} (ratio of medians ${ratio(led, ac)})`);
    console.log(
      `ratio ledger/memory, sustained rates        ${ratio(median(results.map((r) => r.ledger / r.memory)), 1)} (ratio of medians ${ratio(led, mem)})`,
    );
    console.log(
      `ratio ledger/memory, 2xx/s at memory's top step   ${ratio(median(results.map((r) => (r.topLedger?.okRps ?? NaN) / (r.topMemory?.okRps ?? NaN))), 1)}`,
    );
    console.log(
      `time inside budget calls at the top step    memory ${fmtNum(median(results.map((r) => r.topMemory?.budgetMsPerS)), 2)} ms/s, ledger ${fmtNum(median(results.map((r) => r.topLedger?.budgetMsPerS)), 2)} ms/s (event loop blocked; of 1000 ms/s)`,
    );
    figures.push(figure(`${mode}: generator sustained open-loop rate, SQLite ledger budget`, led, 'rps', acName, ac, null, ledRatio));
  }
  if (control) {
    const { ceiling, paired } = control;
    console.log(
      `generator ceiling (trivial server, once)     ${ceiling >= CEILING_LADDER[CEILING_LADDER.length - 1] ? '≥ ' : ''}${ceiling} rps   (= ${ratio(ceiling, mem)}× its sustained rate against the demo${ceiling > 1.5 * mem ? ': the demo, not the generator, is the limit' : ''})`,
    );
    const pm = (k: 'memory' | 'ledger', f: (s: Step) => number): string => fmtNum(median(paired[k].map(f)), 1);
    console.log(
      `paired at ${PAIRED_RPS} rps, trivial server (p99 / worst budget call / budget ms/s)   memory ${pm('memory', (s) => s.p99Ms)} ms / ${pm('memory', (s) => s.budgetMaxMs)} ms / ${pm('memory', (s) => s.budgetMsPerS)}, ledger ${pm('ledger', (s) => s.p99Ms)} ms / ${pm('ledger', (s) => s.budgetMaxMs)} ms / ${pm('ledger', (s) => s.budgetMsPerS)}`,
    );
  }
  const st = (f: (x: Stall) => number): string => fmtNum(median(results.map((r) => f(r.stall))), 1);
  console.log(
    `stall of ${STALL.stallMs} ms at ${results[0]?.stall.rps} rps          peak in flight ${st((s) => s.peakDuring)} (needed ≈ ${st((s) => s.needed)}), conns+ ${st((s) => s.connsDuring)}, never sent ${st((s) => s.dropped)}, recovery ${st((s) => s.recoveryMs)} ms`,
  );
  return figures;
}

function stringArg(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i < 0 ? undefined : args[i + 1];
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const reps = intArg(args, '--reps', 3);
  const stepMs = intArg(args, '--step-ms', 4_000);
  if (args.includes('--connections')) connections = intArg(args, '--connections', 1);
  const mode = stringArg(args, '--target') ?? 'both';
  if (!['demo', 'nginx', 'both'].includes(mode)) throw new Error(`--target: demo, nginx or both, got ${mode}`);
  console.log(
    `# traffic rate: generator (open loop, budget-gated) vs autocannon (${AUTOCANNON.connections} connections, ${AUTOCANNON.duration} s), target(s): ${mode}, ${reps} reps`,
  );
  console.log(`# ${machineLine()}`);
  console.log(
    `# pass: ≥ ${PASS_SHARE * 100}% of the scheduled requests answered 2xx, none failed, backlog < 50 ms of requests at the end, p99 from scheduled time < ${P99_LIMIT_MS} ms (steps of ${stepMs} ms, first ${WARM_MS} ms not judged)`,
  );
  console.log('# anchor of a rep = mean of autocannon just before and just after its ladders');
  console.log(
    `# generator pool: ${connections === undefined ? 'default (its adaptive in-flight limit, within rps × timeout + 1 and at most 1024 connections)' : `${connections} connections (--connections)`}`,
  );
  const figures: Figure[] = [];
  if (mode !== 'nginx') figures.push(...(await demoMode(reps, stepMs)));
  if (mode !== 'demo') figures.push(...(await nginxMode(reps, stepMs)));
  const label = stringArg(args, '--label');
  writeResults(label === undefined ? 'traffic-rate' : `traffic-rate [${label}]`, figures);
  console.log(`\n${figures.length} figures written to ${RESULTS_FILE}`);
}

await main();
process.exit(0);
