// The `pod-restart` rollback step: `kubectl rollout restart` on a deployment, then `kubectl rollout
// status` until the new pods are ready. Through kubectl rather than an API client: it brings the
// user's kubeconfig, contexts and credential plugins as they are, and a person can rerun the very
// same commands by hand. A restart is nothing to put back afterwards, so it has no prepare().
import type { PodRestartSpec } from '../config/schema.ts';
import { describeFailure, runCommand } from '../faults/command-driver.ts';
import type { RollbackAction } from './action.ts';
import { checkProgram } from './program.ts';

/** For each preflight question to kubectl: a config read, an access review (no rollout waits on them). */
const QUERY_TIMEOUT_MS = 10_000;

/**
 * How far past the step's timeout the whole step may run: kubectl's own --timeout should be what
 * ends a slow rollout (it says so itself); this bound is for a kubectl that does not come back
 * (kubectl 1.32 ignored its --timeout when the API server stopped answering its watch).
 */
function graceMs(timeoutMs: number): number {
  return Math.min(10_000, Math.max(2_000, timeoutMs / 10));
}

/** The context must be in the kubeconfig: kubectl would otherwise fail only at rollback. */
async function checkContext(kubectl: string, context: string): Promise<void> {
  // no --context here: the question is which ones exist
  const argv = [kubectl, 'config', 'get-contexts', '-o', 'name'];
  const r = await runCommand(argv, { timeoutMs: QUERY_TIMEOUT_MS });
  if (r.exitCode !== 0) throw new Error(describeFailure(argv, r));
  const have = r.stdout
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  if (!have.includes(context)) throw new Error(`kubectl context ${context} does not exist (have: ${have.join(', ') || 'none'})`);
}

export function podRestart(spec: PodRestartSpec, opts: { kubectl?: string } = {}): RollbackAction {
  const kubectl = opts.kubectl ?? process.env.GAMEDAY_KUBECTL ?? 'kubectl';
  const target = `deployment/${spec.deployment}`;
  // kubectl's global flags before the subcommand, where kubectl's own docs put them
  const scope = [...(spec.context ? ['--context', spec.context] : []), ...(spec.namespace ? ['-n', spec.namespace] : [])];
  const k = (...args: string[]) => [kubectl, ...scope, ...args];
  const name = `pod-restart ${target}${spec.namespace ? ` -n ${spec.namespace}` : ''}${spec.context ? ` --context ${spec.context}` : ''}`;
  const seconds = Math.max(1, Math.ceil(spec.timeout / 1000));

  return {
    name,

    async check() {
      checkProgram([kubectl], 'pod-restart');
      if (spec.context !== undefined) await checkContext(kubectl, spec.context);
      const canI = k('auth', 'can-i', 'patch', target);
      const r = await runCommand(canI, { timeoutMs: QUERY_TIMEOUT_MS });
      if (r.exitCode === 0 && r.stdout.trim() === 'yes') return;
      // can-i prints "no" (maybe " - reason") and exits 1; anything else is kubectl failing to ask
      if (/^no\b/.test(r.stdout.trim())) throw new Error(`kubectl auth can-i patch ${target} says no: kubectl may not restart it`);
      throw new Error(`could not ask whether kubectl may restart ${target}: ${describeFailure(canI, r)}`);
    },

    async run() {
      const deadline = performance.now() + spec.timeout + graceMs(spec.timeout);
      const left = () => Math.max(1, Math.round(deadline - performance.now()));
      const restart = k('rollout', 'restart', target);
      const restarted = await runCommand(restart, { timeoutMs: left() });
      if (restarted.exitCode !== 0) throw new Error(describeFailure(restart, restarted));

      const status = k('rollout', 'status', target, `--timeout=${seconds}s`);
      const r = await runCommand(status, { timeoutMs: left() });
      if (r.exitCode === 0) return;
      // kubectl's own --timeout says "timed out waiting for the condition"; ours kills it
      const late = r.timedOut || /timed out waiting for the condition/.test(r.stderr);
      // where the rollout got to is on stdout, which describeFailure leaves out
      const last = r.stdout.trim().split('\n').pop()?.trim();
      const where = last ? ` (last status: ${last})` : '';
      throw new Error(`${late ? `rollout not done in time (${seconds}s)` : 'rollout failed'}: ${describeFailure(status, r)}${where}`);
    },
  };
}
