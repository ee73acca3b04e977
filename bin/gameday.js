#!/usr/bin/env node
// Entry point: the compiled CLI (dist/, `npm run build`, run by `prepare` on `npm install`). In a
// checkout, GAMEDAY_FROM_SOURCE=1 (`npm run dev`) runs the TypeScript sources through tsx instead,
// a dev dependency: an installed package never loads it.
import { closeSync, existsSync, openSync } from 'node:fs';
import { isatty } from 'node:tty';
import { fileURLToPath } from 'node:url';

// A closed terminal (SIGHUP: roll back, exit 5) must not end in an abort: after 'exit', Node 20
// restores the termios of the stdio ttys and aborts (SIGABRT) when tcsetattr fails with EIO, as it
// does on a hung-up tty (nodejs/node#51519, fixed upstream in #58200). Node skips an fd that is no
// longer the same file, so a hung-up one (isatty() fails too) gets /dev/null in its place.
const stdioTtys = [0, 1, 2].filter((fd) => isatty(fd));
if (process.platform !== 'win32' && stdioTtys.length > 0) {
  process.on('exit', () => {
    for (const fd of stdioTtys) {
      if (isatty(fd)) continue;
      try {
        closeSync(fd);
        // the lowest free fd: this one; a closed fd would be skipped too, but could be reused
        const devNull = openSync('/dev/null', 'r+');
        if (devNull !== fd) closeSync(devNull);
      } catch {
        // the exit goes on either way
      }
    }
  });
}

// React's development build keeps a timing entry per render (memory grows for as long as the
// control room runs) and renders slower; users get the production build unless they ask.
process.env.NODE_ENV ??= 'production';

// emergency-stop's head start: this machine's controllers are signalled before the CLI loads
// (src/commands/emergency-signal.ts); the command then does everything it always did
const emergencyStop = process.argv[2] === 'emergency-stop';
const signalled = (pids) => {
  if (pids.length > 0)
    process.stderr.write(`gameday: stop signal sent to ${pids.length} controller(s) on this machine (pid ${pids.join(', ')})\n`);
};

const compiled = new URL('../dist/cli.js', import.meta.url);
if (process.env.GAMEDAY_FROM_SOURCE === '1' || !existsSync(compiled)) {
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    process.stderr.write('gameday: dist/ is missing and tsx is not installed: run `npm run build` in the package\n');
    process.exit(70);
  }
  // The project's own tsconfig, wherever gameday is started from: tsx would otherwise look for one
  // in the working directory, and without it JSX compiles to the classic React.createElement form.
  register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
  if (emergencyStop) signalled((await import('../src/commands/emergency-signal.ts')).signalEarly(process.argv.slice(3)));
  await import('../src/cli.ts');
} else {
  if (emergencyStop)
    signalled((await import(new URL('../dist/emergency-signal.js', import.meta.url).href)).signalEarly(process.argv.slice(3)));
  await import(compiled.href);
}
