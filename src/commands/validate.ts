// gameday validate FILE: every problem by field path, exit 1; a short description when it is fine.
import { resolveRunPlan } from '../config/plan.ts';
import { formatDurationMs } from '../config/duration.ts';
import { EXIT, type ExitCode } from '../errors/exit-codes.ts';
import { printable } from '../headless/printable.ts';
import { makeRedactor, registerSecretsIn } from '../headless/redact.ts';

export async function validateCommand(
  file: string,
  opts: { config?: string },
  out: NodeJS.WritableStream = process.stdout,
): Promise<ExitCode> {
  // every problem by field path: a ConfigError, printed by cli.ts (exit 1)
  const plan = resolveRunPlan({ experiment: file, config: opts.config });
  // the file's URLs may carry credentials in forms the URL parser cannot see in the line below
  registerSecretsIn(plan);
  const line =
    `${file}: ok — "${plan.name}": ${plan.fault.type} fault on ${plan.targetUrl ?? 'the embedded demo'}, ` +
    `${plan.traffic.rps} rps for ${formatDurationMs(plan.schedule.durationMs)}, budget $${plan.budget.experimentCapUsd}`;
  out.write(printable(makeRedactor()(line)) + '\n');
  return EXIT.ok;
}
