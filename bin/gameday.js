#!/usr/bin/env node
// Entry point: run the TypeScript sources through tsx's loader, so a checkout needs no build step.
import { closeSync, openSync } from 'node:fs';
import { isatty } from 'node:tty';
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

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

// The project's own tsconfig, wherever gameday is started from: tsx would otherwise look for one in
// the working directory, and without it JSX compiles to the classic React.createElement form.
register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
await import('../src/cli.ts');
