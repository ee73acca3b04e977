// The `command` rollback step: the user's own argv (a feature flag flipped back, a script), run
// without a shell. It changes nothing this process could put back, so it has no prepare().
import { describeFailure, runCommand } from '../faults/command-driver.ts';
import type { RollbackAction } from './action.ts';
import { checkProgram } from './program.ts';

export function commandStep(spec: { run: string[]; timeout: number }): RollbackAction {
  // a copy: the step must run what was checked, whatever happens to the plan's array meanwhile
  const argv = [...spec.run];
  const name = `command: ${argv.join(' ')}`;
  return {
    name,
    async check() {
      checkProgram(argv, name);
    },
    async run() {
      const r = await runCommand(argv, { timeoutMs: spec.timeout });
      if (r.exitCode !== 0) throw new Error(describeFailure(argv, r));
    },
  };
}
