#!/usr/bin/env node
// Entry point: run the TypeScript sources through tsx's loader, so a checkout needs no build step.
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

// React's development build keeps a timing entry per render (memory grows for as long as the
// control room runs) and renders slower; users get the production build unless they ask.
process.env.NODE_ENV ??= 'production';

// The project's own tsconfig, wherever gameday is started from: tsx would otherwise look for one in
// the working directory, and without it JSX compiles to the classic React.createElement form.
register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
await import('../src/cli.ts');
