// Experiment files the integration tests share.
import { join } from 'node:path';
import { writeFile } from './cli.ts';

/**
 * A `command` fault whose presence is a marker file: inject creates it, restore removes it, so a
 * test can see from outside whether the fault is in. Uses touch/rm: fast, so timings measure gameday.
 */
export function commandFaultExperiment(opts: {
  dir: string;
  name: string;
  targetUrl: string;
  rps?: number;
  schedule?: string;
  /** e.g. '{ p95LatencyMs: 5000 }': many controllers on two cores slow a loopback target down by themselves */
  slo?: string;
}): {
  file: string;
  marker: string;
} {
  const marker = join(opts.dir, `${opts.name}.fault-is-in`);
  const file = writeFile(
    opts.dir,
    `${opts.name}.yaml`,
    `name: ${opts.name}
target: { url: "${opts.targetUrl}" }
traffic: { rps: ${opts.rps ?? 50} }
fault:
  type: command
  inject: [touch, "${marker}"]
  restore: [rm, -f, "${marker}"]
schedule: ${opts.schedule ?? '{ baseline: 2s, duration: 60s, recoveryWindow: 1s }'}
${opts.slo ? `slo: ${opts.slo}\n` : ''}`,
  );
  return { file, marker };
}
