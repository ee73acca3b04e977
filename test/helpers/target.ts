// A real HTTP target on loopback that counts what reaches it.
import { createServer, type Server } from 'node:http';
import { listenOnLoopback } from './loopback.ts';
import { afterAll, beforeAll } from 'vitest';

export interface CountingTarget {
  url: string;
  /** requests other than health probes */
  count(): number;
  healthy: boolean;
  close(): Promise<void>;
}

async function startCountingTarget(): Promise<CountingTarget> {
  let n = 0;
  const target = { healthy: true } as CountingTarget;
  const server: Server = createServer((req, res) => {
    if (req.url === '/healthz') {
      res.writeHead(target.healthy ? 200 : 503, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    n++;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  ({ url: target.url, close: target.close } = await listenOnLoopback(server));
  target.count = () => n;
  return target;
}

/** One counting target for a whole test file: started before its tests, closed after them. */
export function useCountingTarget(): () => CountingTarget {
  let target: CountingTarget | undefined;
  beforeAll(async () => {
    target = await startCountingTarget();
  });
  afterAll(() => target?.close());
  return () => {
    if (!target) throw new Error('the counting target is not started yet (use it inside a test)');
    return target;
  };
}
