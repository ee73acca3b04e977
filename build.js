// `npm run build`: the CLI bundled by esbuild into dist/ (bin/gameday.js runs dist/cli.js).
// Bundled rather than compiled file by file: measured, a command then starts in about half the
// CPU, since Node resolves and links a few files instead of hundreds (zod's, yaml's, ours).
// Dynamic imports stay separate chunks, so a command loads only what it uses: the control room
// (Ink, React) and PostgreSQL's client only when asked for. What cannot be bundled stays a
// dependency: native code (better-sqlite3, pg's optional pg-native) and the control room's Ink and
// React (loaded only for it, as they are).
import { build } from 'esbuild';
import { rmSync, writeFileSync } from 'node:fs';

const OUT = 'dist';
rmSync(OUT, { recursive: true, force: true });
await build({
  // the demo's pricing dependency runs as a process of its own: its own entry point; so does
  // emergency-stop's head start, which bin/gameday.js runs before it loads the CLI
  entryPoints: {
    cli: 'src/cli.ts',
    'pricing-process': 'src/demo/pricing-process.ts',
    'emergency-signal': 'src/commands/emergency-signal.ts',
  },
  outdir: OUT,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  jsx: 'automatic',
  external: ['better-sqlite3', 'pg-native', 'ink', 'react', 'react/jsx-runtime', 'react-devtools-core'],
  // CommonJS packages bundled into ESM still call require(): give them Node's
  banner: { js: "import { createRequire as __gamedayRequire } from 'node:module'; const require = __gamedayRequire(import.meta.url);" },
  legalComments: 'linked',
  // smaller files parse faster: this is start-up time (stack traces of a bug keep their file and line)
  minify: true,
  logLevel: 'warning',
});
// when the sources were last built (test/global-setup.ts rebuilds when one is newer); outside dist/, so it is not shipped
writeFileSync('.built', new Date().toISOString() + '\n');
