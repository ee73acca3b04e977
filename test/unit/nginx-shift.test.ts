// The nginx traffic shift against a real nginx and two real loopback servers: the preflight refuses
// what it must, a shift moves the traffic, a shift nginx rejects leaves the previous file byte for
// byte and the traffic where it was, and undo puts the primary back.
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { nginxShift, undoNginx } from '../../src/rollback/nginx.ts';
import type { UndoRecord } from '../../src/rollback/action.ts';
import type { NginxShiftSpec } from '../../src/config/schema.ts';
import { shifted } from '../helpers/rollback-action.ts';
import { listenOnLoopback, type Listening } from '../helpers/loopback.ts';
import { describeWithNginx, getText, startNginx, type RunningNginx } from '../helpers/nginx.ts';

type NginxUndo = Extract<UndoRecord, { kind: 'nginx' }>;

async function answering(text: string): Promise<Listening> {
  return listenOnLoopback(createServer((_req, res) => res.end(text)));
}

/** Until a request through nginx (on a new connection) is answered by `who`: a reload is asynchronous. */
async function untilAnsweredBy(url: string, who: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await getText(url).catch((err: Error) => ({ status: 0, body: err.message }));
    if (r.status === 200 && r.body === who) return;
    if (Date.now() > deadline) throw new Error(`not answered by ${who} within ${timeoutMs}ms (last: ${r.status} ${r.body})`);
    await new Promise((res) => setTimeout(res, 5));
  }
}

/** Temp files gameday left beside the upstream file (it must leave none). */
function leftovers(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.endsWith('.tmp') || n.includes('.gameday-'));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

describeWithNginx('nginx traffic shift (real nginx, real upstreams)', () => {
  let primary: Listening;
  let standby: Listening;
  let nginx: RunningNginx;
  let original: Buffer;
  const spec = (over: Partial<NginxShiftSpec> = {}): NginxShiftSpec => ({
    upstreamFile: nginx.upstreamFile,
    upstream: nginx.upstream,
    servers: [`127.0.0.1:${standby.port}`],
    test: nginx.test,
    reload: nginx.reload,
    timeout: 10_000,
    ...over,
  });

  beforeAll(async () => {
    primary = await answering('primary');
    standby = await answering('standby');
  });
  afterAll(async () => {
    await primary?.close();
    await standby?.close();
  });
  beforeEach(async () => {
    nginx = await startNginx({ upstreamServers: [`127.0.0.1:${primary.port}`] });
    original = readFileSync(nginx.upstreamFile);
    await untilAnsweredBy(nginx.url, 'primary');
  });
  afterEach(async () => {
    expect(leftovers(nginx.dir)).toEqual([]);
    await nginx.close();
  });

  it('check passes on a writable file and a config nginx -t accepts', async () => {
    const action = nginxShift(spec());
    expect(action.name).toBe(`traffic-shift nginx ${nginx.upstream}: 127.0.0.1:${standby.port}`);
    await expect(action.check()).resolves.toBeUndefined();
  });

  // Root ignores file permissions (a 0444 file in a 0555 dir is writable for it, and these tests may
  // run as root), so the unwritable cases are ones no user can write: a file whose directory does
  // not exist, and a path that is a directory.
  it('check refuses an include file it could not write, in one line naming the file', async () => {
    const nowhere = join(nginx.dir, 'no-such-dir', 'upstream.conf');
    await expect(nginxShift(spec({ upstreamFile: nowhere })).check()).rejects.toThrow(
      `${nowhere}: its directory ${join(nginx.dir, 'no-such-dir')} does not exist`,
    );
    const aDir = join(nginx.dir, 'a-dir.conf');
    mkdirSync(aDir);
    const err = await nginxShift(spec({ upstreamFile: aDir }))
      .check()
      .catch((e: Error) => e);
    expect((err as Error).message).toMatch(`${aDir}: exists and is not a regular file`);
    expect((err as Error).message).not.toContain('\n');
  });

  it('check refuses a test program that is not there', async () => {
    const missing = join(nginx.dir, 'no-nginx-here');
    await expect(nginxShift(spec({ test: [missing, '-t'] })).check()).rejects.toThrow(`the test command's program ${missing} is not found`);
  });

  it('check refuses a config that already fails nginx -t, before any fault goes in', async () => {
    writeFileSync(nginx.upstreamFile, `upstream ${nginx.upstream} {\n    server 127.0.0.1:99999;\n}\n`);
    const err = await nginxShift(spec())
      .check()
      .catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    const message = (err as Error).message;
    expect(message).toContain(`${nginx.upstreamFile}: nginx's config fails its test already`);
    expect(message).toContain('invalid port');
    expect(message).not.toContain('\n');
  });

  it('run() shifts the upstream to the standby: nginx answers with it, and the file is exactly gameday\u2019s', async () => {
    chmodSync(nginx.upstreamFile, 0o640);
    const record = (await shifted(nginxShift(spec()))) as NginxUndo;
    expect(record).toEqual({
      kind: 'nginx',
      upstreamFile: nginx.upstreamFile,
      previous: original.toString('utf8'),
      test: nginx.test,
      reload: nginx.reload,
      timeoutMs: 10_000,
    });
    await untilAnsweredBy(nginx.url, 'standby');
    await nginx.settled();
    for (let i = 0; i < 5; i++) expect((await getText(nginx.url)).body).toBe('standby');
    const written = readFileSync(nginx.upstreamFile, 'utf8');
    expect(written).toMatch(
      new RegExp(
        `^# written by gameday at \\d{4}-\\d\\d-\\d\\dT[^\\n]*\\nupstream ${nginx.upstream} \\{\\n    server 127\\.0\\.0\\.1:${standby.port};\\n\\}\\n$`,
      ),
    );
    expect(statSync(nginx.upstreamFile).mode & 0o777).toBe(0o640);
  });

  it('a shift nginx -t rejects: run() rejects, the previous file is back byte for byte, traffic stays on the primary', async () => {
    const broken = nginxShift(spec({ servers: ['127.0.0.1:99999'] }));
    await expect(broken.run()).rejects.toThrow(`nginx -t failed, the previous ${nginx.upstreamFile} is restored: `);
    expect(readFileSync(nginx.upstreamFile).equals(original)).toBe(true);
    for (let i = 0; i < 5; i++) expect(await getText(nginx.url)).toEqual({ status: 200, body: 'primary' });
    // and nginx still reloads fine with what is there
    await untilAnsweredBy(nginx.url, 'primary');
  });

  it('a failed reload puts the previous file back and rejects', async () => {
    await expect(nginxShift(spec({ reload: ['false'] })).run()).rejects.toThrow(
      `nginx reload failed, the previous ${nginx.upstreamFile} is restored`,
    );
    expect(readFileSync(nginx.upstreamFile).equals(original)).toBe(true);
    expect((await getText(nginx.url)).body).toBe('primary');
  });

  it('undo puts the primary back, byte for byte, and is idempotent', async () => {
    const record = (await shifted(nginxShift(spec()))) as NginxUndo;
    await untilAnsweredBy(nginx.url, 'standby');
    await undoNginx(record);
    expect(readFileSync(nginx.upstreamFile).equals(original)).toBe(true);
    await untilAnsweredBy(nginx.url, 'primary');
    await nginx.settled();
    await undoNginx(record);
    expect(readFileSync(nginx.upstreamFile).equals(original)).toBe(true);
    await untilAnsweredBy(nginx.url, 'primary');
    await nginx.settled();
    for (let i = 0; i < 5; i++) expect((await getText(nginx.url)).body).toBe('primary');
  });

  it('undo never leaves a config nginx -t rejects: when the previous file fails now, what it found stays, loudly', async () => {
    // no file before the shift (nginx runs with the one it read at start): undo would remove the
    // file the config includes by name, which nginx -t rejects
    rmSync(nginx.upstreamFile);
    const record = (await shifted(nginxShift(spec()))) as NginxUndo;
    expect(record.previous).toBeNull();
    await untilAnsweredBy(nginx.url, 'standby');
    await nginx.settled();
    const shiftedFile = readFileSync(nginx.upstreamFile);
    await expect(undoNginx(record)).rejects.toThrow(/undo NOT done: nginx -t FAILS with the previous .*gameday put back what it found/);
    expect(readFileSync(nginx.upstreamFile).equals(shiftedFile)).toBe(true);
    expect((await getText(nginx.url)).body).toBe('standby');
  });

  it('measures run() start to the first request answered by the standby (median of 5)', async () => {
    const first: number[] = [];
    const all: number[] = [];
    const ms = (xs: number[]): string => xs.map((x) => x.toFixed(1)).join(', ');
    for (let i = 0; i < 5; i++) {
      // every sample starts from a settled primary: no retired worker still answering with the standby
      const started = performance.now();
      const running = shifted(nginxShift(spec()));
      await untilAnsweredBy(nginx.url, 'standby');
      first.push(performance.now() - started);
      const record = (await running) as NginxUndo;
      await nginx.settled();
      all.push(performance.now() - started);
      await undoNginx(record);
      await untilAnsweredBy(nginx.url, 'primary');
      await nginx.settled();
    }
    console.log(
      `nginx shift: run() start to the first request answered by the standby: median ${median(first).toFixed(1)} ms (${ms(first)})`,
    );
    console.log(
      `nginx shift: run() start to the retired worker gone (every request on the standby): median ${median(all).toFixed(1)} ms (${ms(all)})`,
    );
    expect(first).toHaveLength(5);
  });
});
