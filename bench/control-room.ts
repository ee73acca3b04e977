// The control room's own cost and reaction time ("Control room" issue), on a real terminal (tmux).
//
//   node --import tsx bench/control-room.ts                 # --cpu then --keypress (≈ 17 min)
//   node --import tsx bench/control-room.ts --cpu [--pairs 3] [--rps 500] [--from 10 --to 35] [--with-production]
//   node --import tsx bench/control-room.ts --keypress [--runs 10] [--key-rps 500] [--variant all|both|proxy,proxy-headless,command,command-headless,proxy-production]
//   node --import tsx bench/control-room.ts --rss [--rss-minutes 10] [--rss-rps 100] [--rss-face tui|headless|tui-production|tui-clear-measures]
//   node --import tsx bench/control-room.ts --frame-cost [--reps 3] [--updates 60]      # diagnostic, ≈ 2 min
// --rss is never run by default (it takes rss-minutes + 1). Needs tmux; loopback only.
//
// --cpu   CPU time (user + sys, /proc/<pid>/stat) of the gameday process over the same steady window
//         (10 s → 35 s after start) of the same experiment against the embedded demo (latency 20 ms
//         on 10 % of calls; baseline 2 s, duration 40 s, --rps 500): once in the control room (tmux
//         120×40, a real TTY), once `--headless --output text` with stdout to a file. Alternating pairs
//         (TUI, headless, TUI, headless…); medians of each and of the per-pair difference, in % of one
//         core. Also: what each face writes (KB/s to the terminal via tmux pipe-pane; to the stdout
//         file), the rate actually sent (journal ticks) and the tmux server's own CPU (the terminal's
//         cost, not gameday's). A pair where either run was not observing for the whole window
//         (refused, rolled back) is left out. --with-production adds a third arm per round: the same
//         control room with NODE_ENV=production (React's production build).
// --rss   VmRSS of the control-room process every 5 s for --rss-minutes (rps 100, duration +1 min):
//         min / max after the first minute, spread, one value a minute (and CPU % per minute).
//         --rss-face compares: headless; tui-production (NODE_ENV=production); tui-clear-measures
//         (a preloaded module empties Node's performance timeline every second — tests whether the
//         growth is React's development-build performance.measure() entries).
// --keypress  keypress `x` → fault actually out, --runs runs of each variant:
//         proxy:   a target of our own (200 on / and /healthz) and `fault: {type: errors, probability:
//                  1, proxy: {listen, upstream: <our dependency>}}`: the real FaultProxy in the gameday
//                  process answers 503 instead of forwarding. The bench probes the proxy every 2 ms;
//                  removed = the first probe that reaches the dependency (it sees none while the
//                  fault is in). No process is spawned on the way: this is gameday's own path.
//                  (The embedded demo's proxy cannot be watched from outside without editing src/.)
//         command: `fault: {type: command}` whose inject creates a marker file and whose restore
//                  (`node -e rmSync(MARKER)`) removes it; removed = marker gone (polled every 2 ms).
//                  Anchor, in the same run under the same load (just before the key): the same
//                  restore argv spawned by the bench with execa (as the engine does) on a second
//                  marker; gameday overhead = keypress→removed − anchor.
//         Both: also keypress → `remove-fault done` on screen (capture-pane every 10 ms, coarser),
//         and from the journal: keypress → the emergency-stop event (the key reached the engine).
//         Headless anchors (proxy-headless, command-headless): the same run with --headless, stopped by
//         SIGUSR2 (gameday's emergency-stop signal) instead of the key: the engine's own path without
//         the control room, so TUI − headless is what the control room adds.
//         proxy-production (only when listed): the proxy variant with NODE_ENV=production.
//         Terminal anchor: a minimal raw-mode node program in the same kind of tmux session that
//         removes a marker on its first stdin byte: the floor any TUI pays for tmux → pty → Node.
//         Times run from just before `tmux send-keys` is spawned (its own duration is reported).
// --frame-cost  diagnostic: CPU per control-room frame in isolation: the real renderControlRoom on a
//         fake 120×40 TTY, one tick-like store update per frame, in child processes: no face (anchor),
//         development React, NODE_ENV=production; also performance-timeline entries and live-heap
//         growth per update.
// The experiments use loose SLOs (p95 5 s, errors 50 %, availability 50 %, minSamples 1): on a shared,
// loaded 2-core machine a start-up hiccup otherwise ends a gentle run with a breach or a refusal.
import { execa } from 'execa';
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { TmuxSession } from '../test/e2e/tmux-harness.ts';
import { fmtNum, intArg, machineLine, median, nowMs, ROOT, row, sleep } from './lib.ts';

const args = process.argv.slice(2);
const has = (flag: string) => args.includes(flag);
function strArg(name: string, fallback: string): string {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
}

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
const BIN = join(ROOT, 'bin', 'gameday.js');
const COLUMNS = 120;
const ROWS = 40;
/** environment of both faces: the harness drops these for the pane; drop them for headless too */
const CHILD_ENV: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !['CI', 'CONTINUOUS_INTEGRATION', 'FORCE_COLOR', 'NO_COLOR'].includes(k)),
);

// ---------------------------------------------------------------------------------------------
// /proc

interface ProcStat {
  ppid: number;
  /** user + system, clock ticks */
  ticks: number;
  state: string;
}

function procStat(pid: number): ProcStat | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    // f[0] = field 3 (state), f[1] = ppid, f[11] = utime (field 14), f[12] = stime (field 15)
    return { state: f[0], ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) };
  } catch {
    return null;
  }
}

function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

function rssKb(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** The `gameday run` node process under root (the pane's wrapper shell may sit in between). */
function findGamedayPid(root: number): number | null {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = procStat(Number(name));
    if (!st) continue;
    const list = children.get(st.ppid) ?? [];
    list.push(Number(name));
    children.set(st.ppid, list);
  }
  const queue = [root];
  while (queue.length) {
    const pid = queue.shift()!;
    const argv = cmdline(pid);
    const bin = argv.findIndex((a) => a.endsWith('bin/gameday.js'));
    if (/(^|\/)node$/.test(argv[0] ?? '') && bin >= 1 && argv[bin + 1] === 'run') return pid;
    queue.push(...(children.get(pid) ?? []));
  }
  return null;
}

async function waitForPid(find: () => number | null, timeoutMs = 10_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pid = find();
    if (pid) return pid;
    if (Date.now() > deadline) throw new Error('could not find the gameday process');
    await sleep(20);
  }
}

async function sleepUntil(atMs: number): Promise<void> {
  const left = atMs - nowMs();
  if (left > 0) await sleep(left);
}

// ---------------------------------------------------------------------------------------------
// runs

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'gameday-bench-cr-'));
}

function gamedayArgs(dir: string, experiment: string, extra: string[] = []): string[] {
  const file = join(dir, 'experiment.yaml');
  writeFileSync(file, experiment);
  return [BIN, 'run', '--state-dir', join(dir, 'state'), '--metrics-port', '0', '--experiment', file, ...extra];
}

async function tmuxServerPid(t: TmuxSession): Promise<number | null> {
  const r = await execa('tmux', ['-S', t.socket, 'display-message', '-p', '#{pid}'], { reject: false, timeout: 5_000 });
  const pid = Number(String(r.stdout).trim());
  return pid > 0 ? pid : null;
}

/** x, then q once the summary is in; the harness kills what is left. */
async function stopTui(t: TmuxSession): Promise<number | null> {
  try {
    await t.sendKeys('x');
    await t.waitFor(/exit code \d/, { timeoutMs: 20_000, intervalMs: 100 });
    await t.sendKeys('q');
    return (await t.waitForExit({ timeoutMs: 20_000 })).status;
  } catch (err) {
    process.stderr.write(`warning: the control room did not stop cleanly: ${(err as Error).message.split('\n')[0]}\n`);
    return null;
  } finally {
    await t.kill();
  }
}

// ---------------------------------------------------------------------------------------------
// 1. CPU

/** On a shared, loaded 2-core machine a start-up hiccup can push p95 over 500 ms and end a gentle
 * run with a breach; loose SLOs keep the run observing (the same SLIs are still computed every tick). */
const NOISE_PROOF_SLO = 'slo: { p95LatencyMs: 5000, errorRate: 0.5, availability: 0.5, minSamples: 1 }';

interface CpuSample {
  cpuPct: number;
  /** what the face wrote: to the terminal (tmux pipe-pane) or to the stdout file, KB/s */
  outKBps: number;
  /** the traffic the run actually sent during the window (from the journal), requests/s */
  rps: number;
  tmuxPct: number | null;
  /** observing (not refused, not rolled back) at both ends of the window */
  steady: boolean;
  exitCode: number | null;
}

function cpuExperiment(rps: number): string {
  return `name: bench-control-room-cpu
traffic: { rps: ${rps} }
fault: { type: latency, latency: 20ms, probability: 0.1 }
schedule: { baseline: 2s, duration: 40s }
${NOISE_PROOF_SLO}
`;
}

interface WindowProbe {
  pid: number;
  extraPid: number | null;
  outBytes: () => number;
  steady: () => Promise<boolean>;
}

async function measureWindow(
  w: WindowProbe,
  startMs: number,
  fromS: number,
  toS: number,
): Promise<Omit<CpuSample, 'rps' | 'exitCode'> & { fromMs: number; toMs: number }> {
  await sleepUntil(startMs + fromS * 1000);
  const a = procStat(w.pid);
  const ax = w.extraPid ? procStat(w.extraPid) : null;
  const aOut = w.outBytes();
  const aMs = nowMs();
  const steadyFrom = await w.steady();
  await sleepUntil(startMs + toS * 1000);
  const b = procStat(w.pid);
  const bx = w.extraPid ? procStat(w.extraPid) : null;
  const bOut = w.outBytes();
  const bMs = nowMs();
  const steadyTo = await w.steady();
  if (!a || !b) throw new Error('the gameday process ended inside the window');
  const sec = (bMs - aMs) / 1000;
  return {
    cpuPct: ((b.ticks - a.ticks) / CLK_TCK / sec) * 100,
    outKBps: (bOut - aOut) / 1024 / sec,
    tmuxPct: ax && bx ? ((bx.ticks - ax.ticks) / CLK_TCK / sec) * 100 : null,
    steady: steadyFrom && steadyTo,
    fromMs: aMs,
    toMs: bMs,
  };
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** The journal's events: NDJSON, a header line then one event a line (a torn last line is skipped). */
function journalEvents<T>(journal: string): T[] {
  return readFileSync(journal, 'utf8')
    .split('\n')
    .slice(1)
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as T];
      } catch {
        return [];
      }
    });
}

/** requests/s the run sent between two wall-clock moments, from the journal's tick events */
function journalRps(journal: string, fromMs: number, toMs: number): number {
  try {
    const ticks = journalEvents<{ type: string; ts: number; budget?: { requestsSent: number } }>(journal).filter(
      (e) => e.type === 'tick' && e.budget,
    );
    const a = ticks.find((e) => e.ts >= fromMs);
    const b = [...ticks].reverse().find((e) => e.ts <= toMs);
    return a && b && b.ts > a.ts ? ((b.budget!.requestsSent - a.budget!.requestsSent) / (b.ts - a.ts)) * 1000 : NaN;
  } catch {
    return NaN;
  }
}

async function cpuTui(rps: number, fromS: number, toS: number, env: Record<string, string> = {}): Promise<CpuSample> {
  const dir = tempDir();
  const journal = join(dir, 'journal.json');
  const pty = join(dir, 'pty-output');
  const startMs = nowMs();
  const t = await TmuxSession.start({
    command: [process.execPath, ...gamedayArgs(dir, cpuExperiment(rps), ['--journal', journal])],
    cwd: ROOT,
    columns: COLUMNS,
    rows: ROWS,
    name: 'bench-cr',
    env,
  });
  try {
    // everything the program writes to its terminal, to count it
    await execa('tmux', ['-S', t.socket, 'pipe-pane', '-O', '-t', `=${t.name}:`, `cat >> ${JSON.stringify(pty)}`], { timeout: 5_000 });
    const pid = await waitForPid(() => {
      const root = Number(execFileSync('tmux', ['-S', t.socket, 'display-message', '-p', '#{pane_pid}'], { encoding: 'utf8' }).trim());
      return root > 0 ? findGamedayPid(root) : null;
    });
    const server = await tmuxServerPid(t);
    const w = await measureWindow(
      { pid, extraPid: server, outBytes: () => fileSize(pty), steady: async () => /OBSERV/.test(await t.capture()) },
      startMs,
      fromS,
      toS,
    );
    const exitCode = await stopTui(t);
    return { ...w, rps: journalRps(journal, w.fromMs, w.toMs), exitCode };
  } finally {
    await t.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function cpuHeadless(rps: number, fromS: number, toS: number): Promise<CpuSample> {
  const dir = tempDir();
  const journal = join(dir, 'journal.json');
  const outPath = join(dir, 'stdout.txt');
  const out = openSync(outPath, 'w');
  const err = openSync(join(dir, 'stderr.txt'), 'w');
  const startMs = nowMs();
  const child = spawn(process.execPath, gamedayArgs(dir, cpuExperiment(rps), ['--journal', journal, '--headless', '--output', 'text']), {
    cwd: ROOT,
    env: CHILD_ENV,
    stdio: ['ignore', out, err],
  });
  closeSync(out);
  closeSync(err);
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  try {
    const steady = async () => {
      const text = readFileSync(outPath, 'utf8');
      return /observe/i.test(text) && !/rollback|refused/i.test(text);
    };
    const w = await measureWindow({ pid: child.pid!, extraPid: null, outBytes: () => fileSize(outPath), steady }, startMs, fromS, toS);
    child.kill('SIGINT');
    const code = await Promise.race([exited, sleep(20_000).then(() => null)]);
    return { ...w, rps: journalRps(journal, w.fromMs, w.toMs), exitCode: code };
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

async function benchCpu(): Promise<void> {
  const pairs = intArg(args, '--pairs', 3);
  const rps = intArg(args, '--rps', 500);
  const fromS = intArg(args, '--from', 10);
  const toS = intArg(args, '--to', 35);
  // diagnostic arm: the same control room with React/Ink in production mode
  const withProduction = has('--with-production');
  console.log(`\n## 1. CPU of the gameday process: control room vs headless, ${rps} rps against the embedded demo`);
  console.log(
    `   window ${fromS} s → ${toS} s after start; ${pairs} alternating ${withProduction ? 'rounds (TUI, headless, TUI NODE_ENV=production)' : 'pairs (TUI, headless)'}; CLK_TCK ${CLK_TCK}`,
  );
  console.log(`   ${machineLine()}`);
  const w = [6, 10, 8, 8, 10, 10, 10, 8, 8, 7];
  console.log(row(['pair', 'face', 'CPU %', 'sent/s', 'diff pp', 'out KB/s', 'tmux %', 'steady', 'exit', 'load1'], w));
  const tui: number[] = [];
  const head: number[] = [];
  const prod: number[] = [];
  const diff: number[] = [];
  const diffProd: number[] = [];
  const tmux: number[] = [];
  const outTui: number[] = [];
  const outHead: number[] = [];
  let invalid = 0;
  const show = (i: number, face: string, x: CpuSample, d: number | null) =>
    console.log(
      row(
        [
          i,
          face,
          fmtNum(x.cpuPct, 1),
          fmtNum(x.rps, 0),
          d === null ? '' : fmtNum(d, 1),
          fmtNum(x.outKBps, 1),
          fmtNum(x.tmuxPct, 1),
          x.steady ? 'yes' : 'NO',
          x.exitCode ?? '—',
          loadavg()[0].toFixed(2),
        ],
        w,
      ),
    );
  for (let i = 1; i <= pairs; i++) {
    const a = await cpuTui(rps, fromS, toS);
    show(i, 'TUI', a, null);
    const b = await cpuHeadless(rps, fromS, toS);
    const valid = a.steady && b.steady;
    show(i, 'headless', b, a.cpuPct - b.cpuPct);
    if (!valid) {
      invalid++;
      console.log('       (pair left out: a run was not observing for the whole window)');
    } else {
      tui.push(a.cpuPct);
      head.push(b.cpuPct);
      diff.push(a.cpuPct - b.cpuPct);
      outTui.push(a.outKBps);
      outHead.push(b.outKBps);
      if (a.tmuxPct !== null) tmux.push(a.tmuxPct);
    }
    if (withProduction) {
      const c = await cpuTui(rps, fromS, toS, { NODE_ENV: 'production' });
      show(i, 'TUI prod', c, c.cpuPct - b.cpuPct);
      if (valid && c.steady) {
        prod.push(c.cpuPct);
        diffProd.push(c.cpuPct - b.cpuPct);
      }
    }
  }
  console.log('');
  console.log(
    `median over ${diff.length} valid pairs${invalid ? ` (${invalid} left out)` : ''}: TUI ${fmtNum(median(tui), 1)} %, headless ${fmtNum(median(head), 1)} % of one core; ` +
      `output TUI ${fmtNum(median(outTui), 1)} KB/s to the terminal, headless ${fmtNum(median(outHead), 1)} KB/s to its file`,
  );
  const d = median(diff);
  console.log(
    `control room costs ${fmtNum(d, 1)} percentage points of one core more than headless (median of the per-pair differences; goal ≤ 10): ${d <= 10 ? 'MET' : 'NOT MET'}`,
  );
  if (withProduction)
    console.log(
      `  with NODE_ENV=production: TUI ${fmtNum(median(prod), 1)} %, ${fmtNum(median(diffProd), 1)} pp more than headless (median)`,
    );
  console.log(`  (the tmux server drawing the control room is not counted: median ${fmtNum(median(tmux), 1)} % of a core)`);
}

// ---------------------------------------------------------------------------------------------
// 2. RSS

type RssFace = 'tui' | 'headless' | 'tui-production' | 'tui-clear-measures';

/** For --rss-face tui-clear-measures: empties Node's performance timeline every second, where React's
 * development build leaves an entry per component render (performance.measure). */
const CLEAR_MEASURES_PRELOAD = 'setInterval(() => { performance.clearMeasures(); performance.clearMarks(); }, 1000).unref();\n';

/** A run whose process we can sample: the control room in tmux, or headless with stdout to a file. */
async function startFace(
  face: RssFace,
  dir: string,
  experiment: string,
  extra: string[],
): Promise<{ pid: number; steady: () => Promise<boolean>; stop: () => Promise<void>; screen: () => Promise<string> }> {
  if (face === 'headless') {
    const outPath = join(dir, 'stdout.txt');
    const out = openSync(outPath, 'w');
    const child = spawn(process.execPath, gamedayArgs(dir, experiment, [...extra, '--headless', '--output', 'text']), {
      cwd: ROOT,
      env: CHILD_ENV,
      stdio: ['ignore', out, out],
    });
    closeSync(out);
    const exited = new Promise<void>((res) => child.once('exit', () => res()));
    const text = () => readFileSync(outPath, 'utf8');
    return {
      pid: child.pid!,
      steady: async () => /observe/i.test(text()) && !/rollback|refused/i.test(text()),
      screen: async () => text().split('\n').slice(-15).join('\n'),
      stop: async () => {
        child.kill('SIGINT');
        await Promise.race([exited, sleep(20_000)]);
        if (child.exitCode === null) child.kill('SIGKILL');
      },
    };
  }
  const nodeFlags: string[] = [];
  if (face === 'tui-clear-measures') {
    const preload = join(dir, 'clear-measures.mjs');
    writeFileSync(preload, CLEAR_MEASURES_PRELOAD);
    nodeFlags.push('--import', preload);
  }
  const t = await TmuxSession.start({
    command: [process.execPath, ...nodeFlags, ...gamedayArgs(dir, experiment, extra)],
    cwd: ROOT,
    columns: COLUMNS,
    rows: ROWS,
    name: 'bench-cr',
    env: face === 'tui-production' ? { NODE_ENV: 'production' } : {},
  });
  const pid = await waitForPid(() => {
    const root = Number(execFileSync('tmux', ['-S', t.socket, 'display-message', '-p', '#{pane_pid}'], { encoding: 'utf8' }).trim());
    return root > 0 ? findGamedayPid(root) : null;
  }).catch(async (err) => {
    await t.kill();
    throw err;
  });
  return {
    pid,
    steady: async () => /OBSERV/.test(await t.capture()),
    screen: () => t.capture(),
    stop: async () => {
      await stopTui(t);
    },
  };
}

async function benchRss(): Promise<void> {
  const minutes = intArg(args, '--rss-minutes', 10);
  const rps = intArg(args, '--rss-rps', 100);
  const face = strArg('--rss-face', 'tui') as RssFace;
  if (!['tui', 'headless', 'tui-production', 'tui-clear-measures'].includes(face)) {
    process.stderr.write(`--rss-face: expected tui, headless, tui-production or tui-clear-measures, got ${face}\n`);
    process.exit(1);
  }
  const everyS = 5;
  const variant =
    face === 'tui-production'
      ? ' (NODE_ENV=production)'
      : face === 'tui-clear-measures'
        ? ' (performance.clearMeasures() every 1 s, preloaded)'
        : '';
  console.log(
    `\n## 2. RSS of the ${face === 'headless' ? 'headless' : 'control-room'} process${variant} over ${minutes} min (${rps} rps, embedded demo, gentle fault), VmRSS every ${everyS} s`,
  );
  console.log(`   ${machineLine()}`);
  const dir = tempDir();
  const experiment = `name: bench-control-room-rss
traffic: { rps: ${rps} }
fault: { type: latency, latency: 20ms, probability: 0.1 }
schedule: { baseline: 2s, duration: ${minutes + 1}m }
${NOISE_PROOF_SLO}
`;
  const budget = Math.min(100, Math.ceil(rps * (minutes + 1.2) * 60 * 0.001) + 5);
  const startMs = nowMs();
  const run = await startFace(face, dir, experiment, ['--budget', String(budget)]);
  try {
    const pid = run.pid;
    const samples: { tS: number; rssMB: number; cpuTicks: number }[] = [];
    for (let k = 0; k * everyS <= minutes * 60; k++) {
      await sleepUntil(startMs + k * everyS * 1000);
      const kb = rssKb(pid);
      const st = procStat(pid);
      if (kb === null || !st) throw new Error(`the run ended after ${k * everyS} s:\n${await run.screen()}`);
      samples.push({ tS: k * everyS, rssMB: kb / 1024, cpuTicks: st.ticks });
      if (k > 0 && (k * everyS) % 60 === 0 && !(await run.steady()))
        process.stderr.write(`warning: not observing at ${k * everyS} s:\n${await run.screen()}\n`);
    }
    const after = samples.filter((s) => s.tS >= 60).map((s) => s.rssMB);
    const min = Math.min(...after);
    const max = Math.max(...after);
    const w = [8, 10, 12];
    console.log(row(['minute', 'RSS MB', 'CPU % (min)'], w));
    for (let m = 0; m <= minutes; m++) {
      const s = samples.find((x) => x.tS === m * 60);
      const prev = samples.find((x) => x.tS === (m - 1) * 60);
      if (!s) continue;
      console.log(row([m, fmtNum(s.rssMB, 1), prev ? fmtNum(((s.cpuTicks - prev.cpuTicks) / CLK_TCK / 60) * 100, 1) : '—'], w));
    }
    const first = after[0];
    const last = after[after.length - 1];
    console.log(
      `after the first minute: min ${fmtNum(min, 1)} MB, max ${fmtNum(max, 1)} MB, spread ${fmtNum(max - min, 1)} MB; ` +
        `1 min → ${minutes} min: ${fmtNum(last - first, 1)} MB (goal: flat, within 20 MB): ${max - min <= 20 ? 'MET' : 'NOT MET'}`,
    );
    // The spread includes the GC sawtooth (tens of MB at 100 rps, headless too); the trend says
    // whether something keeps growing: least-squares slope after the first minute, and the floor
    // (lowest sample) of the second minute against that of the last.
    const late = samples.filter((x) => x.tS >= 60);
    const mt = late.reduce((a, x) => a + x.tS, 0) / late.length;
    const mr = late.reduce((a, x) => a + x.rssMB, 0) / late.length;
    const slope = (late.reduce((a, x) => a + (x.tS - mt) * (x.rssMB - mr), 0) / late.reduce((a, x) => a + (x.tS - mt) ** 2, 0)) * 60;
    const floor = (m: number) => Math.min(...samples.filter((x) => x.tS >= m * 60 && x.tS < (m + 1) * 60).map((x) => x.rssMB));
    console.log(
      `trend after the first minute: ${fmtNum(slope, 1)} MB/min (least squares); floor of minute 1–2 ${fmtNum(floor(1), 1)} MB → floor of minute ${minutes - 1}–${minutes} ${fmtNum(floor(minutes - 1), 1)} MB`,
    );
    console.log(`all samples (MB, every ${everyS} s): ${samples.map((s) => s.rssMB.toFixed(0)).join(' ')}`);
  } finally {
    await run.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// 3. keypress → fault removed

function listen(server: http.Server): Promise<number> {
  return new Promise((res, rej) => {
    server.once('error', rej);
    server.listen(0, '127.0.0.1', () => res((server.address() as { port: number }).port));
  });
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createNetServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

/** 200 on every path (/ and /healthz): a target whose SLOs hold whatever the fault does. */
function okServer(onRequest?: () => void): http.Server {
  return http.createServer({ keepAlive: true, noDelay: true }, (req, res) => {
    onRequest?.();
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
    res.end('ok');
  });
}

function closeServer(server: http.Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((res) => server.close(() => res()));
}

/** Resolves with the first time check() is true, polled every 2 ms, or null after timeoutMs. */
function pollUntil(check: () => boolean, timeoutMs: number): Promise<number | null> {
  return new Promise((res) => {
    const deadline = nowMs() + timeoutMs;
    const timer = setInterval(() => {
      const t = nowMs();
      if (check()) {
        clearInterval(timer);
        res(t);
      } else if (t > deadline) {
        clearInterval(timer);
        res(null);
      }
    }, 2);
  });
}

/** Screen polling every 10 ms until the pattern shows, or null. */
async function screenUntil(t: TmuxSession, pattern: RegExp, timeoutMs: number): Promise<number | null> {
  const deadline = nowMs() + timeoutMs;
  while (nowMs() < deadline) {
    const screen = await t.capture().catch(() => '');
    const at = nowMs();
    if (pattern.test(screen)) return at;
    await sleep(10);
  }
  return null;
}

const RESTORE = (marker: string) => [process.execPath, '-e', "require('fs').rmSync(process.argv[1], {force:true})", marker];
const INJECT = (marker: string) => [process.execPath, '-e', "require('fs').writeFileSync(process.argv[1], '')", marker];

/** the same call as the engine's runCommand (src/faults/command-driver.ts) */
function execaLikeEngine(argv: string[]) {
  return execa(argv[0], argv.slice(1), { reject: false, timeout: 30_000, forceKillAfterDelay: 2_000, stdin: 'ignore', windowsHide: true });
}

interface KeyResult {
  /** send-keys spawned → fault out */
  removedMs: number | null;
  /** send-keys returned → fault out */
  removedAfterReturnMs: number | null;
  screenMs: number | null;
  sendKeysMs: number;
  /** command variant: the bench spawning the restore argv itself, same load, just before */
  anchorMs: number | null;
  exitCode: number | null;
  /** from the journal (event ts, Date.now() in gameday): the emergency-stop event, relative to t0 */
  stopEventMs: number | null;
  /** from the journal: the rollback event "remove-fault ok" (the rollback phase's step, after the removal) */
  removeEventMs: number | null;
}

type KeyVariant = 'proxy' | 'command' | 'proxy-headless' | 'command-headless' | 'proxy-production';

/** The run under test: in the control room (the key) or headless (SIGUSR2, gameday's emergency-stop signal). */
interface KeyFace {
  waitObserving(): Promise<void>;
  /** press x / send the signal; resolves when the trigger call returns */
  trigger(): Promise<void>;
  /** time the screen first shows the pattern (null headless) */
  screenUntil(pattern: RegExp, timeoutMs: number): Promise<number | null>;
  finish(): Promise<number | null>;
  kill(): Promise<void>;
}

async function keyFace(
  headless: boolean,
  dir: string,
  experiment: string,
  journal: string,
  env: Record<string, string> = {},
): Promise<KeyFace> {
  if (headless) {
    const outPath = join(dir, 'stdout.txt');
    const out = openSync(outPath, 'w');
    const child = spawn(process.execPath, gamedayArgs(dir, experiment, ['--journal', journal, '--headless', '--output', 'text']), {
      cwd: ROOT,
      env: CHILD_ENV,
      stdio: ['ignore', out, out],
    });
    closeSync(out);
    const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
    return {
      waitObserving: async () => {
        if ((await pollUntil(() => /observe/i.test(readFileSync(outPath, 'utf8')), 60_000)) === null)
          throw new Error(`headless run never observed:\n${readFileSync(outPath, 'utf8').slice(-2000)}`);
      },
      trigger: async () => {
        process.kill(child.pid!, 'SIGUSR2');
      },
      screenUntil: async () => null,
      finish: () => Promise.race([exited, sleep(30_000).then(() => null)]),
      kill: async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGKILL');
          await exited;
        }
      },
    };
  }
  const t = await TmuxSession.start({
    command: [process.execPath, ...gamedayArgs(dir, experiment, ['--journal', journal])],
    cwd: ROOT,
    columns: COLUMNS,
    rows: ROWS,
    name: 'bench-cr',
    env,
  });
  return {
    waitObserving: async () => {
      await t.waitFor(/OBSERV/, { timeoutMs: 60_000, intervalMs: 50 });
    },
    trigger: () => t.sendKeys('x'),
    screenUntil: (pattern, timeoutMs) => screenUntil(t, pattern, timeoutMs),
    finish: async () => {
      await t.waitFor(/exit code \d/, { timeoutMs: 20_000, intervalMs: 100 });
      await t.sendKeys('q');
      return (await t.waitForExit({ timeoutMs: 20_000 })).status;
    },
    kill: () => t.kill(),
  };
}

async function keypressRun(variant: KeyVariant, rps: number): Promise<KeyResult> {
  const dir = tempDir();
  const kind = variant.startsWith('proxy') ? 'proxy' : 'command';
  const headless = variant.endsWith('-headless');
  let depHits = 0;
  let depFirstAt: number | null = null;
  let armed = false;
  const target = okServer();
  const dependency = okServer(() => {
    depHits++;
    if (armed && depFirstAt === null) depFirstAt = nowMs();
  });
  const targetPort = await listen(target);
  const depPort = await listen(dependency);
  const proxyPort = await freePort();
  const marker = join(dir, 'fault-in');
  const anchorMarker = join(dir, 'anchor');
  const q = (a: string[]) => `[${a.map((x) => JSON.stringify(x)).join(', ')}]`;
  const fault =
    kind === 'proxy'
      ? `{ type: errors, status: 503, probability: 1.0, proxy: { listen: "127.0.0.1:${proxyPort}", upstream: "http://127.0.0.1:${depPort}" } }`
      : `{ type: command, inject: ${q(INJECT(marker))}, restore: ${q(RESTORE(marker))} }`;
  const experiment = `name: bench-control-room-key-${variant}
target: { url: "http://127.0.0.1:${targetPort}", healthPath: /healthz }
traffic: { rps: ${rps} }
fault: ${fault}
schedule: { baseline: 2s, duration: 60s }
${NOISE_PROOF_SLO}
`;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  let probing = false;
  let probeStatus: number[] = [];
  /** debug (BENCH_DEBUG): [sent, answered, status] of the probes after the key */
  const probeLog: [number, number, number][] = [];
  const probe = () =>
    new Promise<void>((res) => {
      const sentAt = nowMs();
      const req = http.get({ host: '127.0.0.1', port: proxyPort, path: '/probe', agent }, (r) => {
        probeStatus.push(r.statusCode ?? 0);
        if (armed) probeLog.push([sentAt, nowMs(), r.statusCode ?? 0]);
        r.resume();
        r.on('end', () => res());
      });
      req.on('error', () => res());
    });
  let inFlight = 0;
  const prober = setInterval(() => {
    if (!probing || inFlight >= 8) return;
    inFlight++;
    void probe().finally(() => inFlight--);
  }, 2);

  const journal = join(dir, 'journal.json');
  const face = await keyFace(headless, dir, experiment, journal, variant === 'proxy-production' ? { NODE_ENV: 'production' } : {});
  const result: KeyResult = {
    removedMs: null,
    removedAfterReturnMs: null,
    screenMs: null,
    sendKeysMs: NaN,
    anchorMs: null,
    exitCode: null,
    stopEventMs: null,
    removeEventMs: null,
  };
  try {
    await face.waitObserving();
    // The fault is in (the phase line can lead the driver by a moment): check it from outside.
    if (kind === 'command') {
      if ((await pollUntil(() => existsSync(marker), 5_000)) === null) throw new Error('the command fault never created its marker');
    }
    probing = kind === 'proxy';
    await sleep(1_000);
    if (kind === 'proxy') {
      const faulted = probeStatus.filter((x) => x === 503).length;
      const hitsBefore = depHits;
      probeStatus = [];
      if (faulted === 0) throw new Error('probes never saw the fault (503)');
      if (hitsBefore !== 0) throw new Error(`the dependency saw ${hitsBefore} probes while the fault was in`);
    } else {
      // anchor: the very restore argv, spawned by us, under the same load
      writeFileSync(anchorMarker, '');
      const a0 = nowMs();
      const gone = pollUntil(() => !existsSync(anchorMarker), 10_000);
      void execaLikeEngine(RESTORE(anchorMarker));
      const a1 = await gone;
      result.anchorMs = a1 === null ? null : a1 - a0;
      await sleep(300);
    }

    armed = true;
    const removed =
      kind === 'proxy'
        ? pollUntil(() => depFirstAt !== null, 10_000).then((at) => (at === null ? null : depFirstAt))
        : pollUntil(() => !existsSync(marker), 10_000);
    if (kind === 'command' && !existsSync(marker)) throw new Error('the marker was gone before the key: something removed the fault early');
    const t0 = nowMs();
    const t0Date = Date.now();
    const screen = face.screenUntil(/remove-fault done/, 10_000);
    await face.trigger();
    const t1 = nowMs();
    const removedAt = await removed;
    const screenAt = await screen;
    result.sendKeysMs = headless ? NaN : t1 - t0;
    result.removedMs = removedAt === null ? null : removedAt - t0;
    result.removedAfterReturnMs = removedAt === null ? null : removedAt - t1;
    result.screenMs = screenAt === null ? null : screenAt - t0;
    probing = false;
    result.exitCode = await face.finish();
    try {
      const events = journalEvents<{ type: string; ts: number; step?: string; result?: string }>(journal);
      const stop = events.find((e) => e.type === 'emergency-stop');
      const done = events.find((e) => e.type === 'rollback' && e.step === 'remove-fault' && e.result === 'ok');
      result.stopEventMs = stop ? stop.ts - t0Date : null;
      result.removeEventMs = done ? done.ts - t0Date : null;
      if (process.env.BENCH_DEBUG) {
        console.log(
          events
            .filter((e) => e.type !== 'tick')
            .map((e) => `${e.ts - t0Date} ${JSON.stringify(e).slice(0, 160)}`)
            .join('\n'),
        );
        console.log(
          `probes after the key (sent→answered ms from t0, status): ${probeLog
            .slice(0, 80)
            .map(([a, b, st]) => `${(a - t0).toFixed(0)}→${(b - t0).toFixed(0)}:${st}`)
            .join(' ')}`,
        );
      }
    } catch (err) {
      process.stderr.write(`warning: no journal: ${(err as Error).message}\n`);
    }
    return result;
  } catch (err) {
    try {
      const summary = journalEvents<{ type: string; status?: string; reason?: string }>(journal).find((e) => e.type === 'summary');
      (err as Error).message += `\n(journal: ${summary?.status}: ${summary?.reason})`;
    } catch {
      // no journal yet
    }
    throw err;
  } finally {
    probing = false;
    clearInterval(prober);
    agent.destroy();
    await face.kill();
    await closeServer(target);
    await closeServer(dependency);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The floor: a minimal raw-mode Node program in tmux that removes a marker on its first byte. */
async function terminalAnchor(): Promise<{ ms: number | null; sendKeysMs: number }> {
  const dir = tempDir();
  const marker = join(dir, 'armed');
  const ready = join(dir, 'ready');
  const script = `const fs=require('fs');process.stdin.setRawMode(true);process.stdin.on('data',()=>{fs.rmSync(${JSON.stringify(marker)},{force:true});setTimeout(()=>process.exit(0),50)});fs.writeFileSync(${JSON.stringify(ready)},'');setInterval(()=>{},1000);`;
  writeFileSync(marker, '');
  const t = await TmuxSession.start({
    command: [process.execPath, '-e', script],
    cwd: ROOT,
    columns: COLUMNS,
    rows: ROWS,
    name: 'bench-cr-anchor',
  });
  try {
    if ((await pollUntil(() => existsSync(ready), 10_000)) === null) throw new Error('anchor program did not start');
    await sleep(200);
    const gone = pollUntil(() => !existsSync(marker), 5_000);
    const t0 = nowMs();
    await t.sendKeys('x');
    const t1 = nowMs();
    const at = await gone;
    return { ms: at === null ? null : at - t0, sendKeysMs: t1 - t0 };
  } finally {
    await t.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function benchKeypress(): Promise<void> {
  const runs = intArg(args, '--runs', 10);
  const rps = intArg(args, '--key-rps', 500);
  const which = strArg('--variant', 'all');
  const ALL: KeyVariant[] = ['proxy', 'proxy-headless', 'command', 'command-headless'];
  const KNOWN: KeyVariant[] = [...ALL, 'proxy-production'];
  const variants = (which === 'all' ? ALL : which === 'both' ? ['proxy', 'command'] : which.split(',')) as KeyVariant[];
  if (!variants.every((v) => KNOWN.includes(v))) {
    process.stderr.write(`--variant: expected all, both or a comma list of ${KNOWN.join(', ')}; got ${which}\n`);
    process.exit(1);
  }
  console.log(
    `\n## 3. keypress x → fault removed, ${runs} runs per variant (${variants.join(', ')}), traffic ${rps} rps to a local target, tmux ${COLUMNS}×${ROWS}`,
  );
  console.log(
    `   times from just before \`tmux send-keys x\` is spawned (*-headless: before SIGUSR2 is sent to a --headless run); ${machineLine()}`,
  );
  const w = [4, 17, 10, 13, 9, 9, 10, 10, 7, 6];
  console.log(row(['run', 'variant', 'removed', 'after return', 'stop evt', 'screen', 'send-keys', 'anchor', 'term', 'exit'], w));
  const res: Record<string, KeyResult[]> = Object.fromEntries(KNOWN.map((v) => [v, []]));
  const term: number[] = [];
  const termSend: number[] = [];
  for (let i = 1; i <= runs; i++) {
    for (const v of variants) {
      let r: KeyResult;
      try {
        r = await keypressRun(v, rps);
      } catch (err) {
        process.stderr.write(`run ${i} ${v} failed: ${(err as Error).message}\n`);
        continue;
      }
      res[v].push(r);
      let a: { ms: number | null; sendKeysMs: number } = { ms: null, sendKeysMs: NaN };
      if (!v.endsWith('-headless')) {
        a = await terminalAnchor().catch(() => ({ ms: null, sendKeysMs: NaN }));
        if (a.ms !== null) term.push(a.ms);
        termSend.push(a.sendKeysMs);
      }
      console.log(
        row(
          [
            i,
            v,
            fmtNum(r.removedMs, 1),
            fmtNum(r.removedAfterReturnMs, 1),
            fmtNum(r.stopEventMs, 0),
            fmtNum(r.screenMs, 0),
            fmtNum(r.sendKeysMs, 1),
            fmtNum(r.anchorMs, 1),
            fmtNum(a.ms, 1),
            r.exitCode ?? '—',
          ],
          w,
        ),
      );
    }
  }
  const m = (v: string, k: keyof KeyResult) => median(res[v].map((r) => r[k]));
  console.log(
    "(ms from the trigger; removed: fault out as seen from outside; stop evt: the journal's emergency-stop event, i.e. the key reached",
  );
  console.log(
    ' the engine (Date.now(), ms resolution); screen: "remove-fault done" on screen; anchor: the restore argv spawned by the bench; term: terminal anchor)',
  );
  console.log('');
  for (const v of variants)
    console.log(`${v.padEnd(17)}: trigger → emergency-stop event in the journal: median ${fmtNum(m(v, 'stopEventMs'), 0)} ms`);
  if (term.length)
    console.log(
      `terminal anchor (tmux send-keys → raw-mode node program reacts): median ${fmtNum(median(term), 1)} ms (send-keys itself ${fmtNum(median(termSend), 1)} ms), n=${term.length}`,
    );
  for (const v of variants) {
    const n = res[v].length;
    if (!n) continue;
    const removed = m(v, 'removedMs');
    const goal = v.endsWith('-headless')
      ? '(no key: the engine without the control room)'
      : `goal ≤ 100 ms: ${removed <= 100 ? 'MET' : 'NOT MET'}`;
    if (v.startsWith('proxy')) {
      console.log(
        `${v.padEnd(17)}: trigger → first probe through the proxy to the dependency: median ${fmtNum(removed, 1)} ms, n=${n}; ${goal}`,
      );
    } else {
      const anchor = m(v, 'anchorMs');
      const overhead = median(res[v].map((r) => (r.removedMs !== null && r.anchorMs !== null ? r.removedMs - r.anchorMs : null)));
      console.log(`${v.padEnd(17)}: trigger → restore command has removed the marker: median ${fmtNum(removed, 1)} ms, n=${n}; ${goal}`);
      console.log(
        `${''.padEnd(17)}  anchor (same restore argv spawned by the bench with execa, same load): median ${fmtNum(anchor, 1)} ms; ` +
          `overhead = median of per-run (removed − anchor) ${fmtNum(overhead, 1)} ms`,
      );
    }
    if (!v.endsWith('-headless'))
      console.log(
        `${''.padEnd(17)}  after send-keys returned: ${fmtNum(m(v, 'removedAfterReturnMs'), 1)} ms; screen shows "remove-fault done": median ${fmtNum(m(v, 'screenMs'), 0)} ms`,
      );
  }
  if (res.proxy.length && res['proxy-headless'].length) {
    console.log(
      `control room's share (proxy): ${fmtNum(m('proxy', 'removedMs') - m('proxy-headless', 'removedMs'), 1)} ms = TUI median − headless median (of which the terminal path ≈ ${fmtNum(median(term), 1)} ms)`,
    );
  }
}

// ---------------------------------------------------------------------------------------------
// diagnostic: CPU per control-room frame, in isolation (dev vs production React)

/**
 * In a child process: the real control room (renderControlRoom, App and its panes) on a fake 120×40
 * TTY, fed by a store that looks like a live observe phase; every 100 ms (longer than Ink's 1/12 s
 * frame) one tick-like update, as the engine's tick (src/engine/monitor.ts) makes (nowMs, slis, budget, impact,
 * history point). CPU per update (process.cpuUsage) with the face, and without it (the anchor: the
 * same store updates with nobody rendering them). Prints one JSON line.
 */
async function frameCostChild(): Promise<void> {
  const { Writable, Readable } = await import('node:stream');
  const { createGamedayStore, storeFace } = await import('../src/state/store.ts');
  const updates = intArg(args, '--updates', 60);
  const withFace = !has('--no-face');
  const store = createGamedayStore();
  const now = Date.now();
  const slis = (i: number) => ({
    p95LatencyMs: 40 + (i % 7) * 3,
    errorRate: 0.001 * (i % 3),
    availability: 0.999,
    healthFailures: 0,
    samples: 2400 + i,
    throughputRps: 480 + (i % 11),
  });
  store.setState({
    experiment: {
      id: 'bench0001',
      name: 'bench-control-room-frame',
      targetUrl: 'http://127.0.0.1:40000 (embedded demo)',
      faultLabel: 'latency 20ms on 10%',
      rps: 500,
      durationMs: 40_000,
      baselineMs: 2_000,
      demo: true,
    },
    phase: 'observe',
    phaseStartedAtMs: now - 10_000,
    startedAtMs: now - 14_000,
    faultStartedAtMs: now - 10_000,
    nowMs: now,
    faultActive: true,
    slis: slis(0),
    baseline: slis(1),
    preflight: ['emergency-stop latch', 'budget covers baseline', 'fault driver ready', 'target reachable', 'target healthy'].map(
      (name) => ({ name, status: 'pass' as const, detail: 'ok' }),
    ),
    history: Array.from({ length: 240 }, (_, i) => ({
      tMs: now - (240 - i) * 250,
      p95LatencyMs: 40 + (i % 9),
      errorRate: 0,
      availability: 1,
      healthFailures: 0,
      impact: i % 5,
    })),
  });
  const face = storeFace(store);
  face({ type: 'note', ts: now - 14_000, text: 'preflight', source: 'engine' });
  face({ type: 'note', ts: now - 13_000, text: 'baseline — steady state over 2.00s', source: 'engine' });
  face({ type: 'note', ts: now - 12_000, text: 'steady state holds: p95 42ms', source: 'engine' });
  face({ type: 'note', ts: now - 11_000, text: 'inject — latency 20ms on 10%', source: 'engine' });
  face({ type: 'note', ts: now - 10_000, text: 'observe — for 40.0s', source: 'engine' });
  let bytes = 0;
  let writes = 0;
  const stdout = Object.assign(
    new Writable({
      write(chunk, _enc, cb) {
        bytes += chunk.length;
        writes++;
        cb();
      },
    }),
    { isTTY: true, columns: COLUMNS, rows: ROWS, getColorDepth: () => 8, hasColors: () => true },
  ) as unknown as NodeJS.WriteStream;
  const stdin = Object.assign(new Readable({ read() {} }), {
    isTTY: true,
    setRawMode: () => stdin,
    ref: () => stdin,
    unref: () => stdin,
  }) as unknown as NodeJS.ReadStream;
  const controls = { emergencyStop() {}, rollbackNow() {}, togglePause() {}, addNote() {} };
  let room: { unmount(): void } | null = null;
  if (withFace) {
    const { renderControlRoom } = await import('../components/render-control-room.tsx');
    room = renderControlRoom({ store, controls, stdout, stdin });
  }
  const tick = (i: number) => {
    const st = store.getState();
    const t = Date.now();
    store.setState({
      nowMs: t,
      slis: slis(i),
      budget: {
        ...st.budget,
        experimentSpentUsd: 5 + i * 0.125,
        daySpentUsd: 5 + i * 0.125,
        experimentCapUsd: 100,
        dayCapUsd: 500,
        requestsSent: 5000 + i * 125,
        burnUsdPerMin: 30,
        timeToCapMs: 190_000,
      },
      impact: { score: i % 4, band: 'low', driver: 'p95LatencyMs', peak: 3 },
      history: [
        ...st.history.filter((h) => h.tMs >= t - 60_000),
        { tMs: t, p95LatencyMs: 40 + (i % 9), errorRate: 0, availability: 1, healthFailures: 0, impact: i % 4 },
      ],
    });
  };
  // warm up (JIT, first frames), then measure
  for (let i = 0; i < 20; i++) {
    tick(i);
    await sleep(100);
  }
  const bytes0 = bytes;
  const writes0 = writes;
  const measures0 = performance.getEntriesByType('measure').length;
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  const c0 = process.cpuUsage();
  const w0 = nowMs();
  for (let i = 20; i < 20 + updates; i++) {
    tick(i);
    await sleep(100);
  }
  const c = process.cpuUsage(c0);
  const wall = nowMs() - w0;
  // React's development build records its Performance Tracks with performance.measure(); Node keeps
  // every entry in the global performance timeline until somebody clears it.
  const measures = performance.getEntriesByType('measure').length;
  gc?.();
  const heapKBPerUpdate = (process.memoryUsage().heapUsed - heap0) / 1024 / updates;
  room?.unmount();
  console.log(
    JSON.stringify({
      cpuMsPerUpdate: (c.user + c.system) / 1000 / updates,
      bytesPerUpdate: (bytes - bytes0) / updates,
      writesPerUpdate: (writes - writes0) / updates,
      measuresPerUpdate: (measures - measures0) / updates,
      measuresKept: measures,
      heapKBPerUpdate,
      wallMs: wall,
    }),
  );
  process.exit(0);
}

async function benchFrameCost(): Promise<void> {
  const reps = intArg(args, '--reps', 3);
  const updates = intArg(args, '--updates', 60);
  console.log(
    `\n## diagnostic: CPU per control-room frame (real App on a fake ${COLUMNS}×${ROWS} TTY, one tick-like store update per frame, ${updates} updates), ${reps} alternating reps`,
  );
  console.log(`   ${machineLine()}`);
  const arms: [string, Record<string, string>, string[]][] = [
    ['no face (anchor)', {}, ['--no-face']],
    ['face, development', {}, []],
    ['face, NODE_ENV=production', { NODE_ENV: 'production' }, []],
  ];
  const results = new Map<string, { cpu: number[]; bytes: number[]; measures: number[]; heap: number[] }>(
    arms.map(([n]) => [n, { cpu: [], bytes: [], measures: [], heap: [] }]),
  );
  for (let r = 0; r < reps; r++) {
    for (const [name, env, extra] of arms) {
      const { NODE_ENV: _drop, ...base } = CHILD_ENV;
      const child = await execa(
        process.execPath,
        ['--expose-gc', '--import', 'tsx', 'bench/control-room.ts', '--frame-cost-child', '--updates', String(updates), ...extra],
        {
          cwd: ROOT,
          env: { ...base, FORCE_COLOR: '2', ...env },
          extendEnv: false,
          reject: false,
          timeout: 120_000,
        },
      );
      const line = String(child.stdout).trim().split('\n').pop() ?? '';
      try {
        const j = JSON.parse(line) as {
          cpuMsPerUpdate: number;
          bytesPerUpdate: number;
          measuresPerUpdate: number;
          heapKBPerUpdate: number;
        };
        results.get(name)!.cpu.push(j.cpuMsPerUpdate);
        results.get(name)!.bytes.push(j.bytesPerUpdate);
        results.get(name)!.measures.push(j.measuresPerUpdate);
        results.get(name)!.heap.push(j.heapKBPerUpdate);
      } catch {
        process.stderr.write(`${name}: no result (exit ${child.exitCode}): ${String(child.stderr).slice(-500)}\n`);
      }
    }
  }
  const anchor = median(results.get('no face (anchor)')!.cpu);
  const w = [28, 12, 14, 16, 12, 16, 15];
  console.log(row(['arm', 'CPU ms/upd', 'minus anchor', '% core @4 upd/s', 'bytes/frame', 'perf entries/upd', 'heap KB/upd'], w));
  for (const [name] of arms) {
    const x = results.get(name)!;
    const m = median(x.cpu);
    console.log(
      row(
        [
          name,
          fmtNum(m, 2),
          fmtNum(m - anchor, 2),
          fmtNum(((m - anchor) * 4) / 10, 1),
          fmtNum(median(x.bytes), 0),
          fmtNum(median(x.measures), 1),
          fmtNum(median(x.heap), 1),
        ],
        w,
      ),
    );
  }
  console.log('(the engine updates the store once per 250 ms tick during observe: 4 frames a second; heap KB/upd: live heap');
  console.log(' growth per update after a forced GC — what a long run keeps; × 4/s × 60 = KB a minute)');
}

// ---------------------------------------------------------------------------------------------

if (has('--frame-cost-child')) await frameCostChild();
const any = has('--cpu') || has('--rss') || has('--keypress') || has('--frame-cost');
console.log(`# bench/control-room.ts ${args.join(' ')}`);
if (has('--frame-cost')) await benchFrameCost();
if (!any || has('--cpu')) await benchCpu();
if (!any || has('--keypress')) await benchKeypress();
if (has('--rss')) await benchRss();
process.exit(0);
