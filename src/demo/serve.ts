// Runs the embedded demo in its own process (for benchmarks): prints one JSON line with its URLs,
// then serves until SIGTERM or SIGINT.
//   node --import tsx src/demo/serve.ts [--timeout 1s] [--retries 1] [--fallback] [--host 127.0.0.1]
import { parseArgs } from 'node:util';
import { parseDurationMs } from '../config/duration.ts';
import { startDemo, type DemoOptions } from './demo-service.ts';

function fail(message: string): never {
  process.stderr.write(`demo: ${message}\n`);
  process.exit(1);
}

function parseOptions(args: string[]): DemoOptions {
  const { values } = parseArgs({
    args,
    options: {
      timeout: { type: 'string' },
      retries: { type: 'string' },
      fallback: { type: 'boolean' },
      host: { type: 'string' },
    },
    strict: true,
  });
  const opts: DemoOptions = { fallback: values.fallback ?? false };
  if (values.timeout !== undefined) {
    const ms = /^\d+$/.test(values.timeout) ? Number(values.timeout) : parseDurationMs(values.timeout);
    if (ms === undefined || ms <= 0) fail(`--timeout: expected a duration such as 1s, got ${values.timeout}`);
    opts.timeoutMs = ms;
  }
  if (values.retries !== undefined) {
    const n = Number(values.retries);
    if (!Number.isInteger(n) || n < 0) fail(`--retries: expected a whole number, got ${values.retries}`);
    opts.retries = n;
  }
  if (values.host !== undefined) opts.host = values.host;
  return opts;
}

let options: DemoOptions;
try {
  options = parseOptions(process.argv.slice(2));
} catch (err) {
  fail((err as Error).message);
}
const demo = await startDemo(options);
process.stdout.write(
  JSON.stringify({ targetUrl: demo.targetUrl, primaryUrl: demo.primaryUrl, standbyUrl: demo.standbyUrl, proxyUrl: demo.proxy.url }) + '\n',
);

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  demo.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
