// process-kill: send a signal to a process (by pid or pid file); rollback runs the restart command.
import { readFileSync } from 'node:fs';
import type { FaultDriver } from './driver.ts';
import { runCommand } from './command-driver.ts';

export interface ProcessKillOptions {
  pid?: number;
  pidFile?: string;
  signal: NodeJS.Signals;
  restart: string[];
  timeoutMs: number;
}

export class ProcessKillDriver implements FaultDriver {
  readonly external = true;
  readonly label: string;
  private killed = false;

  constructor(private readonly opts: ProcessKillOptions) {
    this.label = `${opts.signal} to ${opts.pid !== undefined ? `pid ${opts.pid}` : opts.pidFile}; restart: ${opts.restart.join(' ')}`;
  }

  private targetPid(): number {
    if (this.opts.pid !== undefined) return this.opts.pid;
    const text = readFileSync(this.opts.pidFile!, 'utf8').trim();
    const pid = Number(text);
    if (!Number.isInteger(pid) || pid <= 0) throw new Error(`${this.opts.pidFile}: no pid in it ("${text.slice(0, 20)}")`);
    return pid;
  }

  async inject(): Promise<void> {
    const pid = this.targetPid();
    if (pid === process.pid) throw new Error('refusing to kill gameday itself');
    this.killed = true; // set first: even a failed kill may have landed, so rollback must run
    process.kill(pid, this.opts.signal);
  }

  async remove(): Promise<void> {
    if (!this.killed) return;
    const result = await runCommand(this.opts.restart, { timeoutMs: this.opts.timeoutMs });
    if (result.exitCode !== 0) throw new Error(`restart exited ${result.exitCode}: ${result.stderr.slice(-300)}`);
    this.killed = false;
  }

  async close(): Promise<void> {}
}
