// Drives a real terminal with tmux for end-to-end tests of the control room.
//
// Every session gets its own tmux server (a socket in a fresh temp dir) and a static config:
// remain-on-exit (the pane and its last screen stay after the program ends, with #{pane_dead_status}),
// no status line (the pane is exactly columns × rows), no escape delay. (Not window-size manual in
// the config: tmux 3.3 dies on it before the first session; resize-window sets it per window.) The
// command is an argv, never a shell string: a fixed sh wrapper gets it as positional parameters,
// runs it and writes its exit status to a file. (tmux 3.3 started from Node sometimes leaves the
// exited program a zombie with no #{pane_dead_status}; the file is the reliable record, the tmux
// field the fallback.)
// The pane inherits this process's environment without CI, CONTINUOUS_INTEGRATION, FORCE_COLOR and
// NO_COLOR, which describe the outer terminal: under CI Ink renders only its last frame and chalk no
// colours, which would hide the live control room from the test. `env` adds back what is asked for.
//
//   const t = await TmuxSession.start({ command: ['node', 'bin/gameday.js', 'run'], cwd: repo });
//   await t.waitFor('EMERGENCY STOP');
//   await t.sendKeys('x');
//   const { status } = await t.waitForExit();
//   await t.kill();                      // or killAllTmuxSessions() in afterAll / afterEach
//   await t.hangUp();                    // or close the terminal under it: SIGHUP, then waitForExit()
import { execa, execaSync } from 'execa';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

export interface TmuxStartOptions {
  /** the program and its arguments, executed directly (no shell) */
  command: readonly string[];
  cwd?: string;
  /** extra environment for the program (on top of this process's, minus the CI and colour variables) */
  env?: Record<string, string>;
  /** default 120 */
  columns?: number;
  /** default 40 */
  rows?: number;
  /** readable prefix for the session name */
  name?: string;
}

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
}

export interface CaptureOptions {
  /** keep colours and attributes as escape sequences (capture-pane -e) */
  ansi?: boolean;
  /** include the scrollback, not only the visible screen */
  history?: boolean;
  /** keep trailing blank lines and trailing spaces */
  raw?: boolean;
}

export interface ExitInfo {
  /** the exit status, or null when the program was killed by a signal */
  status: number | null;
  signal: number | null;
  /** the screen after the program ended, with the scrollback above it */
  screen: string;
}

const TMUX_TIMEOUT_MS = 10_000;
const CONFIG = [
  'set -g remain-on-exit on',
  'set -g status off',
  'set -g history-limit 20000',
  'set -s escape-time 0',
  'set -g exit-empty on',
].join('\n');

/** Runs "$@", records its exit status in $1, exits with it. Signals that would kill the shell before
 * its child are caught (a trap, not an ignore: ignored signals would be inherited by the program). */
const WRAPPER =
  'f=$1; shift; unset CI CONTINUOUS_INTEGRATION FORCE_COLOR NO_COLOR; trap : INT TERM HUP; ' +
  '"$@"; s=$?; echo "$s" > "$f.tmp" && mv "$f.tmp" "$f"; exit "$s"';
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const live = new Set<TmuxSession>();
let counter = 0;

class TmuxTimeoutError extends Error {
  constructor(
    message: string,
    public readonly screen: string,
  ) {
    super(`${message}\n--- screen ---\n${screen}\n--------------`);
    this.name = 'TmuxTimeoutError';
  }
}

/** Whether tmux is installed (tests skip without it). */
export async function tmuxAvailable(): Promise<boolean> {
  const result = await execa('tmux', ['-V'], { reject: false, timeout: TMUX_TIMEOUT_MS });
  return result.exitCode === 0;
}

/** tmux key names that send-keys understands as keys (everything else is typed literally by `type`). */
export const KEYS = { enter: 'Enter', escape: 'Escape', ctrlC: 'C-c', backspace: 'BSpace', up: 'Up', down: 'Down' } as const;

export class TmuxSession {
  readonly name: string;
  readonly socket: string;
  readonly columns: number;
  readonly rows: number;
  private readonly dir: string;
  private readonly statusFile: string;
  private paneId = '';
  private killed = false;
  /** set by hangUp(): the pane's process id, and the screen just before the terminal went */
  private hungUp: { pid: number | null; screen: string } | null = null;

  private constructor(name: string, dir: string, columns: number, rows: number) {
    this.name = name;
    this.dir = dir;
    this.socket = join(dir, 'tmux.sock');
    this.statusFile = join(dir, 'exit-status');
    this.columns = columns;
    this.rows = rows;
  }

  static async start(options: TmuxStartOptions): Promise<TmuxSession> {
    if (options.command.length === 0) throw new Error('TmuxSession.start: empty command');
    const columns = options.columns ?? 120;
    const rows = options.rows ?? 40;
    const prefix = (options.name ?? 'gameday-e2e').replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 24);
    const name = `${prefix}-${process.pid}-${++counter}-${randomBytes(3).toString('hex')}`;
    const dir = mkdtempSync(join(tmpdir(), 'gdtmux-'));
    const session = new TmuxSession(name, dir, columns, rows);
    const configPath = join(dir, 'tmux.conf');
    writeFileSync(configPath, CONFIG + '\n');
    live.add(session);

    const pairs = Object.entries(options.env ?? {}).map(([key, value]) => {
      if (!ENV_NAME.test(key)) throw new Error(`TmuxSession.start: bad environment variable name ${JSON.stringify(key)}`);
      return `${key}=${value}`;
    });
    // `env NAME=value… program args…`: a program name with "=" would read as one more variable
    if (options.command[0].includes('=')) throw new Error('TmuxSession.start: the program name must not contain "="');
    const args = ['-f', configPath, 'new-session', '-d', '-P', '-F', '#{pane_id}', '-s', name, '-x', String(columns), '-y', String(rows)];
    if (options.cwd) args.push('-c', options.cwd);
    args.push('--', 'sh', '-c', WRAPPER, 'gameday-e2e', session.statusFile, 'env', ...pairs, ...options.command);
    try {
      const result = await session.tmux(args);
      session.paneId = result.stdout.trim();
    } catch (error) {
      await session.kill();
      throw error;
    }
    return session;
  }

  /** Sends tmux key names: 'Enter', 'Escape', 'C-c', or single characters such as 'x' and '!'. */
  async sendKeys(...keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.tmux(['send-keys', '-t', this.target(), ...keys]);
  }

  /** Types text literally (no key-name lookup). */
  async type(text: string): Promise<void> {
    if (!text) return;
    await this.tmux(['send-keys', '-t', this.target(), '-l', '--', text]);
  }

  async capture(options: CaptureOptions = {}): Promise<string> {
    const args = ['capture-pane', '-p', '-t', this.target()];
    if (options.ansi) args.push('-e');
    if (options.history) args.push('-S', '-');
    const { stdout } = await this.tmux(args);
    if (options.raw) return stdout;
    const lines = stdout.split('\n').map((line) => line.replace(/\s+$/, ''));
    while (lines.length && lines[lines.length - 1] === '') lines.pop();
    return lines.join('\n');
  }

  /** Polls the screen until it contains the text (or matches the pattern); returns that screen. */
  async waitFor(pattern: string | RegExp, options: WaitOptions = {}): Promise<string> {
    const timeoutMs = options.timeoutMs ?? 15_000;
    const intervalMs = options.intervalMs ?? 50;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const screen = await this.capture();
      if (typeof pattern === 'string' ? screen.includes(pattern) : pattern.test(screen)) return screen;
      if (Date.now() >= deadline)
        throw new TmuxTimeoutError(`timed out after ${timeoutMs}ms waiting for ${String(pattern)} in ${this.name}`, screen);
      await sleep(intervalMs);
    }
  }

  /** Polls until the screen no longer shows the text / pattern. */
  async waitForGone(pattern: string | RegExp, options: WaitOptions = {}): Promise<string> {
    const timeoutMs = options.timeoutMs ?? 15_000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const screen = await this.capture();
      if (!(typeof pattern === 'string' ? screen.includes(pattern) : pattern.test(screen))) return screen;
      if (Date.now() >= deadline) throw new TmuxTimeoutError(`timed out after ${timeoutMs}ms waiting for ${String(pattern)} to go`, screen);
      await sleep(options.intervalMs ?? 50);
    }
  }

  /** Whether the program has exited (the pane stays, thanks to remain-on-exit). */
  async isDead(): Promise<boolean> {
    return (await this.format('#{pane_dead}')) === '1';
  }

  /** How the program ended, or null while it runs. */
  async exitInfo(): Promise<Omit<ExitInfo, 'screen'> | null> {
    let code = this.recordedStatus();
    // after hangUp() there is no tmux to ask: the wrapper's record is the only answer
    if (code === undefined && this.hungUp) return null;
    if (code === undefined) {
      const [dead, status, signal] = (await this.format('#{pane_dead}|#{pane_dead_status}|#{pane_dead_signal}')).split('|');
      if (dead !== '1') return null;
      // the wrapper records the status just before it exits: look again now that the pane is dead
      code = this.recordedStatus();
      if (code === undefined) {
        if (signal) return { status: null, signal: Number(signal) };
        if (!status) return null;
        code = Number(status);
      }
    }
    // the shell reports a program killed by signal N as 128 + N
    return code > 128 ? { status: null, signal: code - 128 } : { status: code, signal: null };
  }

  private recordedStatus(): number | undefined {
    try {
      const text = readFileSync(this.statusFile, 'utf8').trim();
      return /^\d+$/.test(text) ? Number(text) : undefined;
    } catch {
      return undefined;
    }
  }

  /** The exit status once the program has ended; null while it runs or when a signal killed it. */
  async exitStatus(): Promise<number | null> {
    return (await this.exitInfo())?.status ?? null;
  }

  async waitForExit(options: WaitOptions = {}): Promise<ExitInfo> {
    const timeoutMs = options.timeoutMs ?? 30_000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const info = await this.exitInfo();
      if (info) {
        if (this.hungUp) return { ...info, screen: this.hungUp.screen };
        await this.waitUntilDead(2_000);
        // with the scrollback: tmux's "Pane is dead" line can push the top line off the screen
        return { ...info, screen: await this.capture({ history: true }) };
      }
      if (Date.now() >= deadline) throw new TmuxTimeoutError(`${this.name} still running after ${timeoutMs}ms`, await this.capture());
      await sleep(options.intervalMs ?? 100);
    }
  }

  private async waitUntilDead(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await this.isDead()) && Date.now() < deadline) await sleep(25);
  }

  /** The pane's process id: the wrapper shell, whose process group holds the program (while it runs). */
  async pid(): Promise<number | null> {
    const pid = Number(await this.format('#{pane_pid}'));
    return Number.isFinite(pid) && pid > 0 ? pid : null;
  }

  async resize(columns: number, rows: number): Promise<void> {
    await this.tmux(['resize-window', '-t', `=${this.name}`, '-x', String(columns), '-y', String(rows)]);
  }

  /**
   * Closes the terminal under the program, as closing its window does: the tmux server goes, the pty
   * hangs up, and the program gets SIGHUP. The kernel signals only the session leader, here the
   * wrapper shell, which traps it to record the status; a real shell would pass SIGHUP on to its
   * foreground job and, by exiting, have the kernel send it to the foreground process group. That
   * SIGHUP is sent here. waitForExit() still answers (with the screen from before the hang-up);
   * capture() and keys no longer work; kill() cleans up.
   */
  async hangUp(): Promise<void> {
    if (this.hungUp || this.killed) return;
    const pid = await this.livePid();
    const screen = await this.capture({ history: true }).catch(() => '');
    this.hungUp = { pid, screen };
    await execa('tmux', ['-S', this.socket, 'kill-server'], { reject: false, timeout: TMUX_TIMEOUT_MS });
    if (pid !== null) signalGroup(pid, 'SIGHUP');
  }

  /**
   * Ends the session, its server and the program in it; safe to call twice. The terminal hangs up
   * (the program gets SIGHUP only from hangUp(): the wrapper shell traps the kernel's); the program
   * gets `graceMs` to exit, then its process group is killed.
   */
  async kill(graceMs = 3000): Promise<void> {
    if (this.killed) return;
    const pid = this.hungUp ? this.hungUp.pid : await this.livePid();
    this.killed = true;
    live.delete(this);
    await execa('tmux', ['-S', this.socket, 'kill-server'], { reject: false, timeout: TMUX_TIMEOUT_MS });
    if (pid !== null) {
      const deadline = Date.now() + graceMs;
      while (processAlive(pid) && Date.now() < deadline) await sleep(50);
      if (processAlive(pid)) {
        killGroup(pid);
        const killDeadline = Date.now() + 2_000;
        while (processAlive(pid) && Date.now() < killDeadline) await sleep(20);
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Synchronous variant for process-exit cleanup (no grace period). */
  killSync(): void {
    if (this.killed) return;
    this.killed = true;
    live.delete(this);
    const shown = execaSync('tmux', ['-S', this.socket, 'display-message', '-p', '-t', this.target(), '#{pane_dead} #{pane_pid}'], {
      reject: false,
      timeout: TMUX_TIMEOUT_MS,
    });
    execaSync('tmux', ['-S', this.socket, 'kill-server'], { reject: false, timeout: TMUX_TIMEOUT_MS });
    const [dead, pid] = String(shown.stdout ?? '')
      .trim()
      .split(' ');
    if (dead === '0' && Number(pid) > 0) killGroup(Number(pid));
    else if (this.hungUp?.pid && processAlive(this.hungUp.pid)) killGroup(this.hungUp.pid);
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async livePid(): Promise<number | null> {
    try {
      const [dead, pid] = (await this.format('#{pane_dead} #{pane_pid}')).split(' ');
      return dead === '0' && Number(pid) > 0 ? Number(pid) : null;
    } catch {
      return null;
    }
  }

  private target(): string {
    return this.paneId || `=${this.name}:`;
  }

  private async format(format: string): Promise<string> {
    const { stdout } = await this.tmux(['display-message', '-p', '-t', this.target(), format]);
    return stdout.trim();
  }

  private async tmux(args: string[]) {
    if (this.killed) throw new Error(`tmux session ${this.name} was killed`);
    if (this.hungUp) throw new Error(`tmux session ${this.name} was hung up`);
    return execa('tmux', ['-S', this.socket, ...args], { timeout: TMUX_TIMEOUT_MS, stripFinalNewline: true });
  }
}

/** Kills every session this process started and has not killed yet. */
export async function killAllTmuxSessions(): Promise<void> {
  await Promise.all([...live].map((s) => s.kill()));
}

process.once('exit', () => {
  for (const session of [...live]) {
    try {
      session.killSync();
    } catch {
      // best effort at exit
    }
  }
});

/** Whether a process still runs (a zombie, exited but not reaped, does not count). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // Linux: the state follows the parenthesised command name
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/** SIGKILL to the pane's process group (tmux makes the pane's program a session leader). */
function killGroup(pid: number): void {
  signalGroup(pid, 'SIGKILL');
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, signal);
    } catch {
      // already gone
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
