// The fault driver for `command` faults: the user's own argv to put a fault in and take it out
// (tc, iptables, kubectl, a feature flag…). Removing it needs this process or a watchdog to run the
// restore command, so the topology gives the engine a rollback plan to write first.
import { execa } from 'execa';
import type { FaultDriver } from './driver.ts';

export interface CommandResult {
  /** -1 when the process did not exit by itself (killed, timed out, failed to start) */
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
  timedOut: boolean;
  /** why the command failed other than by its exit code (timeout, signal, not found) */
  failure?: string;
}

/** How long a command gets to exit after SIGTERM (on timeout) before SIGKILL. */
const KILL_GRACE_MS = 2_000;
const STDERR_TAIL_CHARS = 500;

/** Runs an argv array (never through a shell) and reports how it ended; never throws. */
export async function runCommand(argv: string[], opts: { timeoutMs: number; env?: Record<string, string> }): Promise<CommandResult> {
  if (argv.length === 0) throw new Error('empty command');
  const startMs = performance.now();
  const result = await execa(argv[0], argv.slice(1), {
    reject: false,
    timeout: opts.timeoutMs,
    forceKillAfterDelay: KILL_GRACE_MS,
    env: opts.env,
    stdin: 'ignore',
    windowsHide: true,
  });
  const durationMs = Math.round(performance.now() - startMs);
  const exitedOnItsOwn = typeof result.exitCode === 'number' && !result.timedOut;
  return {
    exitCode: exitedOnItsOwn ? (result.exitCode as number) : -1,
    stdout: String(result.stdout ?? ''),
    stderr: String(result.stderr ?? ''),
    durationMs,
    timedOut: result.timedOut,
    ...(result.failed && !exitedOnItsOwn ? { failure: result.timedOut ? `timed out after ${opts.timeoutMs}ms` : result.shortMessage } : {}),
  };
}

/** "exit 3: <last lines of stderr>" — what a person needs to see when a command fails. */
export function describeFailure(argv: string[], r: CommandResult): string {
  const why = r.failure ?? `exit ${r.exitCode}`;
  const tail = r.stderr.trim().slice(-STDERR_TAIL_CHARS);
  return `\`${argv.join(' ')}\` failed (${why})${tail ? `: ${tail}` : ''}`;
}

export interface CommandFaultSpec {
  inject: string[];
  restore: string[];
  timeoutMs: number;
  env?: Record<string, string>;
}

export class CommandFaultDriver implements FaultDriver {
  readonly label: string;
  private readonly spec: CommandFaultSpec;
  /** set as soon as inject starts: a half-run inject may have changed something */
  private injectAttempted = false;
  private restored = false;

  constructor(spec: CommandFaultSpec) {
    this.spec = { ...spec, inject: [...spec.inject], restore: [...spec.restore] };
    this.label = `command: ${spec.inject.join(' ')}`;
  }

  /**
   * One command at a time, in call order: a stop that arrives while the inject command is still
   * running must restore after it, or the inject would land after the restore and stay in.
   */
  private queue: Promise<unknown> = Promise.resolve();
  private serial<T>(op: () => Promise<T>): Promise<T> {
    const next = this.queue.then(op, op);
    this.queue = next.catch(() => {});
    return next;
  }

  inject(): Promise<void> {
    this.injectAttempted = true;
    this.restored = false;
    return this.serial(async () => {
      const r = await runCommand(this.spec.inject, { timeoutMs: this.spec.timeoutMs, env: this.spec.env });
      if (r.exitCode !== 0) throw new Error(`inject ${describeFailure(this.spec.inject, r)}`);
    });
  }

  remove(): Promise<void> {
    return this.serial(async () => {
      if (!this.injectAttempted || this.restored) return;
      const r = await runCommand(this.spec.restore, { timeoutMs: this.spec.timeoutMs, env: this.spec.env });
      if (r.exitCode !== 0) throw new Error(`restore ${describeFailure(this.spec.restore, r)}`);
      this.restored = true;
    });
  }

  async pause(): Promise<void> {
    await this.remove();
  }

  async resume(): Promise<void> {
    await this.inject();
  }

  async close(): Promise<void> {}
}
