// Where traffic goes and where the fault sits, built from the plan: the embedded demo, a proxy in
// front of a dependency (fault.proxy) or of the target itself, or an external driver.
import type { RunPlan } from '../config/plan.ts';
import type { FaultSpec } from '../config/schema.ts';
import { startDemo, type Demo } from '../demo/demo-service.ts';
import { CommandFaultDriver } from '../faults/command-driver.ts';
import type { FaultDriver, ProxyFault } from '../faults/driver.ts';
import type { UndoRecord } from '../rollback/action.ts';
import { ProcessKillDriver } from '../faults/process-kill-driver.ts';
import { FaultProxy } from '../faults/proxy.ts';
import { ProxyFaultDriver } from '../faults/proxy-driver.ts';
import { ShiftFaultDriver } from '../faults/shift-driver.ts';
import { haproxyShift } from '../rollback/haproxy.ts';
import { nginxShift } from '../rollback/nginx.ts';

export interface Topology {
  /** where the traffic generator sends requests */
  trafficUrl: string;
  /** the service whose SLOs are guarded, for people */
  targetUrl: string;
  healthUrl: string;
  driver: FaultDriver;
  demo: Demo | null;
  /** what the watchdog must run if this controller dies with the fault in (external drivers only) */
  rollbackPlan: WatchdogPlan | null;
  close(): Promise<void>;
}

export interface WatchdogPlan {
  commands: { argv: string[]; timeoutMs: number }[];
  /** what the rollback changed and the run had not put back yet (a traffic shift), undone after the commands */
  undo?: UndoRecord[];
}

export function toProxyFault(f: FaultSpec): ProxyFault | null {
  switch (f.type) {
    case 'latency':
      return { type: 'latency', latencyMs: f.latency, jitterMs: f.jitter, probability: f.probability };
    case 'errors':
      return { type: 'errors', status: f.status, probability: f.probability };
    case 'blackhole':
      return { type: 'blackhole', probability: f.probability };
    case 'reset':
      return { type: 'reset', probability: f.probability };
    case 'bandwidth':
      return { type: 'bandwidth', rateKbps: f.rateKbps, probability: f.probability };
    default:
      return null;
  }
}

/** The watchdog's way to bring back a process stopped with SIGSTOP. */
const thaw = (pid: number): WatchdogPlan['commands'][number] => ({ argv: ['kill', '-CONT', String(pid)], timeoutMs: 5_000 });

function splitHostPort(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  return { host: listen.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(listen.slice(i + 1)) };
}

/**
 * The embedded demo: its API reaches its dependency through the demo's own fault proxy.
 * process-kill hits the demo's primary dependency, which then runs as a process of its own.
 */
async function demoTopology(plan: RunPlan): Promise<Topology> {
  const f = plan.fault;
  const proxyFault = toProxyFault(f);
  const killsPrimary = f.type === 'process-kill';
  const demo = await startDemo({
    timeoutMs: plan.demo.timeout,
    retries: plan.demo.retries,
    fallback: plan.demo.fallback,
    primaryAsProcess: killsPrimary,
    metricsPort: plan.demo.metricsPort,
  });
  try {
    let driver: FaultDriver;
    let rollbackPlan: WatchdogPlan | null = null;
    if (f.type === 'process-kill' && demo.primaryProcess) {
      const { pidFile, restart } = demo.primaryProcess;
      const kill = new ProcessKillDriver({
        pidFile,
        signal: f.signal,
        restart,
        timeoutMs: 30_000,
        subject: "the demo's pricing dependency",
      });
      // A frozen process cannot notice that its gameday died: the watchdog thaws it, then it exits.
      if (f.signal === 'SIGSTOP') rollbackPlan = { commands: [thaw(kill.check())] };
      driver = kill;
    } else if (proxyFault) {
      driver = new ProxyFaultDriver({ proxy: demo.proxy, fault: proxyFault, standbyUrl: demo.standbyUrl, ownsProxy: false });
    } else {
      throw new Error(`fault.type ${f.type} cannot run against the demo`);
    }
    const close = async (): Promise<void> => {
      try {
        await driver.close();
      } finally {
        await demo.close();
      }
    };
    // Otherwise the demo's processes end with this one (the pricing process watches its parent),
    // so a dead controller leaves nothing for a watchdog to restore.
    const { targetUrl } = demo;
    return { trafficUrl: targetUrl, targetUrl, healthUrl: targetUrl + plan.healthPath, driver, demo, rollbackPlan, close };
  } catch (err) {
    await demo.close();
    throw err;
  }
}

/**
 * A proxy fault against a real target. With fault.proxy the proxy sits on the dependency's path and
 * traffic still goes to the target; without it, the proxy stands in front of the target and traffic
 * goes through it.
 */
async function proxyTopology(plan: RunPlan, targetUrl: string, fault: ProxyFault): Promise<Topology> {
  const f = plan.fault;
  const proxySpec = 'proxy' in f ? f.proxy : undefined;
  const listen = proxySpec ? splitHostPort(proxySpec.listen) : { host: '127.0.0.1', port: 0 };
  const proxy = await FaultProxy.start({ listenHost: listen.host, listenPort: listen.port, upstreamUrl: proxySpec?.upstream ?? targetUrl });
  const driver = new ProxyFaultDriver({ proxy, fault, ownsProxy: true });
  const trafficUrl = proxySpec ? targetUrl : proxy.url;
  return {
    trafficUrl,
    targetUrl,
    healthUrl: targetUrl + plan.healthPath,
    driver,
    demo: null,
    rollbackPlan: null,
    close: () => driver.close(),
  };
}

/**
 * A traffic shift as the fault: proven possible now, and what it will change read now (the
 * watchdog's plan, written before injecting, puts it back if this controller dies).
 */
async function shiftTopology(plan: RunPlan, targetUrl: string, spec: Extract<FaultSpec, { type: 'traffic-shift' }>): Promise<Topology> {
  const action = spec.haproxy ? haproxyShift(spec.haproxy) : nginxShift(spec.nginx!);
  await action.check();
  const record = await action.prepare!();
  return outOfProcess(plan, targetUrl, new ShiftFaultDriver(action, record!), { commands: rollbackCommands(plan), undo: [record!] });
}

/** The experiment's command rollback steps, which a watchdog runs too. */
const rollbackCommands = (plan: RunPlan): WatchdogPlan['commands'] =>
  plan.rollback.flatMap((s) => (s.type === 'command' ? [{ argv: s.run, timeoutMs: s.timeout }] : []));

/** A fault outside this process: traffic goes straight to the target, and a watchdog holds `rollbackPlan`. */
function outOfProcess(plan: RunPlan, targetUrl: string, driver: FaultDriver, rollbackPlan: WatchdogPlan): Topology {
  return {
    trafficUrl: targetUrl,
    targetUrl,
    healthUrl: targetUrl + plan.healthPath,
    driver,
    demo: null,
    rollbackPlan,
    close: () => driver.close(),
  };
}

/** An external fault (command, process-kill): the watchdog's plan restores it if this controller dies. */
function externalTopology(plan: RunPlan, targetUrl: string): Topology {
  const f = plan.fault;
  let driver: FaultDriver;
  let restore: WatchdogPlan['commands'][number];
  if (f.type === 'command') {
    driver = new CommandFaultDriver({ inject: f.inject, restore: f.restore, timeoutMs: f.timeout });
    restore = { argv: f.restore, timeoutMs: f.timeout };
  } else if (f.type === 'process-kill') {
    const kill = new ProcessKillDriver({ pid: f.pid, pidFile: f.pidFile, signal: f.signal, restart: f.restart, timeoutMs: f.timeout });
    // Preflight: the process must exist now; its pid is what a watchdog would SIGCONT.
    const pid = kill.check();
    driver = kill;
    restore = f.signal === 'SIGSTOP' ? thaw(pid) : { argv: f.restart!, timeoutMs: f.timeout };
  } else {
    throw new Error(`no driver for fault type ${(f as FaultSpec).type}`);
  }
  return outOfProcess(plan, targetUrl, driver, { commands: [restore, ...rollbackCommands(plan)] });
}

export async function buildTopology(plan: RunPlan): Promise<Topology> {
  if (plan.targetUrl === undefined) return demoTopology(plan);
  const proxyFault = toProxyFault(plan.fault);
  if (proxyFault) return proxyTopology(plan, plan.targetUrl, proxyFault);
  if (plan.fault.type === 'traffic-shift') return shiftTopology(plan, plan.targetUrl, plan.fault);
  return externalTopology(plan, plan.targetUrl);
}
