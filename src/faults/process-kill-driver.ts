// process-kill: send a signal to a process (by pid or pid file). Rollback brings it back: the restart
// command after a kill, SIGCONT after SIGSTOP (a stopped process still holds its port, so a restart
// would only collide with it).
import { readFileSync } from 'node:fs';
import type { FaultDriver } from './driver.ts';
import { describeFailure, runCommand } from './command-driver.ts';

export interface ProcessKillOptions {
  pid?: number;
  pidFile?: string;
  signal: NodeJS.Signals;
  /** required unless the signal is SIGSTOP */
  restart?: string[];
  timeoutMs: number;
  /** for people, instead of the pid file's path: "the demo's pricing dependency" */
  subject?: string;
}

export class ProcessKillDriver implements FaultDriver {
  readonly label: string;
  private hitPid: number | null = null;

  constructor(private readonly opts: ProcessKillOptions) {
    if (opts.signal !== 'SIGSTOP' && !opts.restart?.length) throw new Error(`process-kill with ${opts.signal} needs a restart command`);
    const who = opts.subject ?? (opts.pid !== undefined ? `pid ${opts.pid}` : opts.pidFile);
    const back = opts.signal === 'SIGSTOP' ? 'SIGCONT' : opts.subject ? 'restart' : `restart: ${opts.restart!.join(' ')}`;
    this.label = `${opts.signal} to ${who}; rollback: ${back}`;
  }

  /** The pid to signal, now (a pid file may name a new process after a restart). */
  targetPid(): number {
    if (this.opts.pid !== undefined) return this.opts.pid;
    let text: string;
    try {
      text = readFileSync(this.opts.pidFile!, 'utf8').trim();
    } catch (err) {
      throw new Error(`pid file ${this.opts.pidFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
    }
    const pid = Number(text);
    if (!Number.isInteger(pid) || pid <= 0) throw new Error(`${this.opts.pidFile}: no pid in it ("${text.slice(0, 20)}")`);
    return pid;
  }

  /** Preflight: the process exists and is not gameday itself. Throws with the reason. */
  check(): number {
    const pid = this.targetPid();
    if (pid === 1) throw new Error('refusing to signal pid 1 (init)');
    if (pid === process.pid || pid === process.ppid) throw new Error(`refusing to signal gameday itself (pid ${pid})`);
    try {
      process.kill(pid, 0);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new Error(code === 'ESRCH' ? `no process ${pid} is running` : `cannot signal pid ${pid}: ${code}`, { cause: err });
    }
    return pid;
  }

  async inject(): Promise<void> {
    const pid = this.check();
    this.hitPid = pid; // set first: even a failed kill may have landed, so rollback must run
    process.kill(pid, this.opts.signal);
  }

  async remove(): Promise<void> {
    if (this.hitPid === null) return;
    if (this.opts.signal === 'SIGSTOP') {
      try {
        process.kill(this.hitPid, 'SIGCONT');
      } catch (err) {
        // gone while stopped: nothing holds it any more
        if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
      }
    } else {
      const result = await runCommand(this.opts.restart!, { timeoutMs: this.opts.timeoutMs });
      if (result.exitCode !== 0) throw new Error(describeFailure(this.opts.restart!, result));
    }
    this.hitPid = null;
  }

  async close(): Promise<void> {}
}
