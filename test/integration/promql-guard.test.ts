// A PromQL guard against an HTTP server on loopback that answers as Prometheus's query API does
// (or fails as it can): what each answer means, how the streaks move, and that a guard that cannot
// see turns blind after inconclusiveLimit answers. The real Prometheus is in promql-run.test.ts.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { PromqlGuardSpec } from '../../src/config/schema.ts';
import { nowMs } from '../../src/engine/clock.ts';
import { PromqlGuard, readAnswer } from '../../src/engine/guards/promql-guard.ts';
import { listenOnLoopback, type Listening } from '../helpers/loopback.ts';
import { waitUntil } from '../helpers/wait.ts';

const vector = (...values: string[]) => ({
  status: 'success',
  data: { resultType: 'vector', result: values.map((v, i) => ({ metric: { i: String(i) }, value: [1, v] })) },
});

describe('readAnswer', () => {
  it('one finite number is an answer', () => {
    expect(readAnswer(vector('0.42'))).toEqual({ value: 0.42 });
    expect(readAnswer({ status: 'success', data: { resultType: 'scalar', result: [1, '7'] } })).toEqual({ value: 7 });
  });

  it('everything else is inconclusive, and says why', () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ status: 'error', errorType: 'bad_data', error: 'parse error' }, /bad_data: parse error/],
      [vector(), /empty vector/],
      [vector('NaN'), /NaN or ±Inf/],
      [vector('+Inf'), /NaN or ±Inf/],
      [vector('1', '2'), /2 series: aggregate the query .* or set reduce/],
      [{ status: 'success', data: { resultType: 'matrix', result: [] } }, /a matrix result/],
      [{ status: 'success', data: { resultType: 'scalar', result: [1, 'NaN'] } }, /NaN/],
      [{}, /Prometheus said error/],
    ];
    for (const [body, why] of cases) {
      const a = readAnswer(body as never);
      expect('inconclusive' in a && a.inconclusive, JSON.stringify(body)).toMatch(why);
    }
  });

  it('reduce picks among several series', () => {
    expect(readAnswer(vector('1', '5', '3'), 'max')).toEqual({ value: 5 });
    expect(readAnswer(vector('1', '5', '3'), 'min')).toEqual({ value: 1 });
    expect('inconclusive' in readAnswer(vector('1', 'NaN'), 'max')).toBe(true);
  });
});

interface FakeProm extends Listening {
  /** what the next requests get: a JSON body, an HTTP status, or silence */
  answer: { body?: unknown; status?: number; hang?: boolean };
  requests: URL[];
  headers: IncomingMessage['headers'][];
}

const servers: FakeProm[] = [];
const guards: PromqlGuard[] = [];
afterEach(async () => {
  await Promise.all(guards.splice(0).map((g) => g.stop()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function fakeProm(): Promise<FakeProm> {
  const held: ServerResponse[] = [];
  const fake = { answer: { body: vector('0.1') }, requests: [] as URL[], headers: [] as IncomingMessage['headers'][] } as FakeProm;
  const server = createServer((req, res) => {
    fake.requests.push(new URL(req.url!, 'http://x'));
    fake.headers.push(req.headers);
    if (fake.answer.hang) return void held.push(res);
    res.writeHead(fake.answer.status ?? 200, { 'content-type': 'application/json' }).end(JSON.stringify(fake.answer.body ?? {}));
  });
  const l = await listenOnLoopback(server);
  Object.assign(fake, { url: l.url, port: l.port, close: l.close });
  servers.push(fake);
  return fake;
}

function guard(
  url: string,
  spec: Partial<PromqlGuardSpec> = {},
  o: { timeoutMs?: number; queryEveryMs?: number; token?: string } = {},
): PromqlGuard {
  const g = new PromqlGuard({
    spec: { name: 'p95', query: 'histogram_quantile(0.95, x)', max: 0.5, breachFor: 1, ...spec },
    prometheus: { url, timeoutMs: o.timeoutMs ?? 500 },
    queryEveryMs: o.queryEveryMs ?? 100,
    inconclusiveLimit: 3,
    clock: nowMs,
    token: o.token,
  });
  guards.push(g);
  return g;
}

describe('PromqlGuard against a query API on loopback', () => {
  it('asks with the time pinned and the timeout sent; a bearer token from the options; ok within the bound', async () => {
    const prom = await fakeProm();
    const g = guard(prom.url, {}, { token: 's3cret-token' });
    const before = Date.now() / 1000;
    g.start();
    await waitUntil(() => g.evaluate().status === 'ok', 5_000, 'ok');
    const q = prom.requests[0];
    expect(q.pathname).toBe('/api/v1/query');
    expect(q.searchParams.get('query')).toBe('histogram_quantile(0.95, x)');
    expect(q.searchParams.get('timeout')).toBe('0.5s');
    expect(Math.abs(Number(q.searchParams.get('time')) - before)).toBeLessThan(5);
    expect(prom.headers[0].authorization).toBe('Bearer s3cret-token');
    expect(g.evaluate().view).toMatchObject({ name: 'p95', value: 0.1, bound: 0.5, kind: 'max', state: 'ok' });
  });

  it('breaches after breachFor answers in a row; an inconclusive answer neither resets nor adds to the streak', () => {
    const g = guard('http://127.0.0.1:1', { breachFor: 3 });
    g.record({ value: 0.9 });
    g.record({ value: 0.9 });
    g.record({ inconclusive: 'no data' });
    expect(g.evaluate().status).toBe('inconclusive');
    g.record({ value: 0.9 });
    const v = g.evaluate();
    expect(v.status).toBe('breach');
    expect(v.breaches).toEqual([{ guard: 'p95', value: 0.9, threshold: 0.5, bound: 'max' }]);
    g.record({ value: 0.1 });
    expect(g.evaluate().status).toBe('ok');
  });

  it('a min bound breaches below it', () => {
    const g = guard('http://127.0.0.1:1', { max: undefined, min: 0.99 });
    g.record({ value: 0.95 });
    expect(g.evaluate().breaches).toEqual([{ guard: 'p95', value: 0.95, threshold: 0.99, bound: 'min' }]);
  });

  it('turns blind after inconclusiveLimit inconclusive answers in a row, and sees again after one good one', () => {
    const g = guard('http://127.0.0.1:1');
    for (let i = 0; i < 2; i++) g.record({ inconclusive: 'no data: the query returned an empty vector' });
    expect(g.evaluate().blind).toBeUndefined();
    g.record({ inconclusive: 'no data: the query returned an empty vector' });
    expect(g.evaluate().blind).toBe('p95 cannot see: 3 inconclusive answers in a row (last: no data: the query returned an empty vector)');
    g.record({ value: 0.1 });
    expect(g.evaluate().blind).toBeUndefined();
  });

  it('a dead Prometheus, an HTTP error, a silent one: inconclusive, with the reason (and never the URL)', async () => {
    const prom = await fakeProm();
    const url = `http://user:pw@127.0.0.1:${prom.port}`;
    prom.answer = { status: 503, body: { status: 'error', error: 'overloaded' } };
    const g = guard(url, {}, { timeoutMs: 300, queryEveryMs: 100 });
    expect(await g.ask()).toEqual({ inconclusive: 'HTTP 503: overloaded' });
    expect(prom.headers[0].authorization).toBe(`Basic ${Buffer.from('user:pw').toString('base64')}`);
    prom.answer = { hang: true };
    const t0 = performance.now();
    expect(await g.ask()).toEqual({ inconclusive: 'no answer within 300ms' });
    expect(performance.now() - t0).toBeLessThan(1_500);
    await prom.close();
    const dead = await g.ask();
    expect('inconclusive' in dead && dead.inconclusive).toMatch(/^cannot reach Prometheus: /);
    expect(JSON.stringify(dead)).not.toContain('pw');
  });

  it('never two queries at once: one still out when the next is due counts as skipped', async () => {
    const prom = await fakeProm();
    prom.answer = { hang: true };
    const g = guard(prom.url, {}, { timeoutMs: 1_000, queryEveryMs: 100 });
    g.start();
    await waitUntil(() => g.evaluate().blind !== undefined, 3_000, 'blind');
    expect(prom.requests).toHaveLength(1);
    expect(g.evaluate().blind).toMatch(/3 inconclusive answers in a row \(last: skipped: the previous query has not answered/);
  });
});
