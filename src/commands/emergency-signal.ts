// The head start of `gameday emergency-stop`: bin/gameday.js runs this before it loads the CLI, so
// the controllers on this machine get the stop signal after Node's own start-up and a directory
// read, not after the config (zod, yaml) and the ledger are loaded. Measured: that load was most
// of the command's 500 ms on a busy 2-core machine (bench/emergency-stop.ts).
//
// Only when the state dir and the ledger are known from the command line and the environment
// alone: with --config (which may name another state dir or ledger) this does nothing, and the
// command signals from the ledger's list as always. It never prints and never fails the command.
import { ledgerIdentity, signalRegisteredControllers } from '../budget/controller-registry.ts';
import { EMERGENCY_STOP_SIGNAL } from '../budget/ledger-store.ts';
import { resolveStateDir } from '../budget/state-dir.ts';

/** The value of `--name value` or `--name=value`; the last one wins, as with commander. */
function flagValue(args: string[], name: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === name) value = args[i + 1];
    else if (args[i]?.startsWith(`${name}=`)) value = args[i].slice(name.length + 1);
  }
  return value;
}

/** argv: what follows `emergency-stop`. Returns the pids signalled. */
export function signalEarly(args: string[], env: NodeJS.ProcessEnv = process.env): number[] {
  try {
    if (args.some((a) => a === '--clear' || a === '--help' || a === '-h' || a === '--config' || a.startsWith('--config='))) return [];
    const stateDir = resolveStateDir(flagValue(args, '--state-dir'), env);
    const ledger = ledgerIdentity(stateDir, flagValue(args, '--ledger') ?? env.GAMEDAY_LEDGER_URL);
    return signalRegisteredControllers(stateDir, ledger, EMERGENCY_STOP_SIGNAL);
  } catch {
    return [];
  }
}
