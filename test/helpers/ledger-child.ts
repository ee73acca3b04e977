// A stand-in controller for the ledger's multi-process tests (run with `node --import tsx`).
// It registers, prints "ready <id>", and on "go" (stdin) does what its mode says:
//   contend STATE_DIR CHUNK EXP_CAP DAY_CAP COST  reserve CHUNK at a time until refused, "send" it,
//                                                 settle; print "done <json>"
//   burst   STATE_DIR EXP_CAP DAY_CAP COST        reserve 1 at a time until killed, printing each
//                                                 grant ("granted <total>") and reporting it
//   stop    STATE_DIR NAME [ignore|latch-only]    heartbeat every 100 ms; on SIGUSR2 or the latch:
//                                                 ack, finish 'stopped', exit 5 ("ignore": never;
//                                                 "latch-only": deaf to the signal, as if remote)
// stdout to a pipe is synchronous on Linux, so a printed line is in the parent's hands even if
// the process is killed right after.
import { createInterface } from 'node:readline';
import { setImmediate as yieldToLoop, setTimeout as sleep } from 'node:timers/promises';
import { EMERGENCY_STOP_SIGNAL, type ExperimentHandle } from '../../src/budget/ledger-store.ts';
import { Ledger } from '../../src/budget/sqlite-ledger.ts';

const [mode, stateDir, ...args] = process.argv.slice(2);
const say = (line: string) => process.stdout.write(line + '\n');
const go = new Promise<void>((resolve) => createInterface({ input: process.stdin }).once('line', () => resolve()));

if (mode === 'stop') {
  const [name, deafness] = args;
  const ignore = deafness === 'ignore';
  // set once registered; the signal handler is installed before that
  const registration: { handle?: ExperimentHandle } = {};
  let stopping = false;
  const stop = (): void => {
    const h = registration.handle;
    if (!h || stopping || ignore) return;
    stopping = true;
    const rolledBack = async () => {
      // "rolled back" after a moment, as a controller removing its fault would
      await h.ackStopped();
      await h.finish('stopped', 0);
      process.exit(5);
    };
    setTimeout(() => void rolledBack(), 20);
  };
  // Installed before registering: the signal's default action would kill us.
  process.on(EMERGENCY_STOP_SIGNAL, () => (deafness ? undefined : stop()));
  const registered = Ledger.open(stateDir).registerExperiment({ name, experimentCapUsd: 1, dailyCapUsd: 10, costPerRequestUsd: 0.001 });
  registration.handle = registered;
  const beat = async () => {
    if ((await registered.heartbeat('observe')) === 'emergency-stop') stop();
  };
  await beat();
  setInterval(() => void beat(), 100);
  say(`ready ${registered.id}`);
} else {
  const numbers = (xs: string[]) => xs.map(Number);
  const [chunk, expCap, dayCap, cost] = mode === 'contend' ? numbers(args) : [1, ...numbers(args)];
  const ledger = Ledger.open(stateDir);
  const handle = ledger.registerExperiment({
    name: `${mode}-${process.pid}`,
    experimentCapUsd: expCap,
    dailyCapUsd: dayCap,
    costPerRequestUsd: cost,
  });
  say(`ready ${handle.id}`);
  await go;
  let sent = 0;
  let reservations = 0;
  if (mode === 'contend') {
    for (;;) {
      const { grantedRequests } = await handle.reserve(chunk);
      if (grantedRequests === 0) break;
      reservations++;
      sent += grantedRequests; // "send" every granted request
      await handle.report(sent);
      await yieldToLoop(); // let the other processes in between chunks
    }
    await handle.settle(sent);
    say(`done ${JSON.stringify({ id: handle.id, sent, reservations })}`);
    ledger.close();
    process.exit(0); // stdin would keep us alive
  } else {
    for (;;) {
      const { grantedRequests } = await handle.reserve(1);
      if (grantedRequests > 0) {
        sent += grantedRequests;
        say(`granted ${sent}`);
        await handle.report(sent);
        await yieldToLoop();
      } else {
        await sleep(2); // at a cap: keep asking, as a controller would, without hogging a core
      }
    }
  }
}
