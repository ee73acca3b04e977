// A real HTTP target on loopback that counts what reaches it.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll } from 'vitest';

export interface CountingTarget {
  url: string;
  /** requests other than health probes */
  count(): number;
  healthy: boolean;
  close(): Promise<void>;
}

export async function startCountingTarget(): Promise<CountingTarget> {
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
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  target.url = `http://127.0.0.1:${port}`;
  target.count = () => n;
  target.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
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
