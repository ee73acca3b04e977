// The entry point the run command uses: real Ink render options, Ctrl+C as an emergency stop.
import { describe, expect, it, vi } from 'vitest';
import { renderControlRoom } from '../../components/render-control-room.tsx';
import { canRenderControlRoom } from '../../src/headless/face-choice.ts';
import { fakeControls, finishedStore, liveStore } from './fixtures.ts';
import { FakeStdin, FakeStdout, plain, tick } from './render-at.ts';

const asOut = (s: FakeStdout) => s as unknown as NodeJS.WriteStream;
const asIn = (s: FakeStdin) => s as unknown as NodeJS.ReadStream;

describe('canRenderControlRoom', () => {
  it('needs a terminal on both ends with raw mode', () => {
    expect(canRenderControlRoom(asIn(new FakeStdin(true)), asOut(new FakeStdout(80, 24)))).toBe(true);
    expect(canRenderControlRoom(asIn(new FakeStdin(false)), asOut(new FakeStdout(80, 24)))).toBe(false);
    const pipe = new FakeStdout(80, 24);
    pipe.isTTY = false;
    expect(canRenderControlRoom(asIn(new FakeStdin(true)), asOut(pipe))).toBe(false);
    const noRaw = new FakeStdin(true) as unknown as { setRawMode?: unknown };
    noRaw.setRawMode = undefined;
    expect(canRenderControlRoom(noRaw as NodeJS.ReadStream, asOut(new FakeStdout(80, 24)))).toBe(false);
  });
});

describe('renderControlRoom', () => {
  it('turns Ctrl+C into an emergency stop and exits once the summary is in', async () => {
    const store = liveStore();
    const controls = fakeControls();
    const stdout = new FakeStdout(120, 40);
    const stdin = new FakeStdin(true);
    const room = renderControlRoom({ store, controls, stdout: asOut(stdout), stdin: asIn(stdin) });
    let exited = false;
    const done = room.waitUntilExit().then(() => {
      exited = true;
    });
    await tick();
    stdin.write('\u0003');
    await vi.waitFor(() => expect(controls.calls.emergencyStop).toEqual(['ctrl-c']), { timeout: 3000, interval: 10 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(exited).toBe(false);
    store.setState(finishedStore().getState());
    await done;
    expect(plain(stdout.frames.join(''))).toContain('SLO BREACH');
  });

  it('q after the summary resolves waitUntilExit; unmount is idempotent', async () => {
    const controls = fakeControls();
    const stdin = new FakeStdin(true);
    const room = renderControlRoom({ store: finishedStore(), controls, stdout: asOut(new FakeStdout(100, 30)), stdin: asIn(stdin) });
    await tick();
    stdin.write('q');
    await room.waitUntilExit();
    room.unmount();
    expect(controls.calls.emergencyStop).toEqual([]);
  });

  it('waitUntilExit asked for after a closed terminal (EIO) took the room down still resolves', async () => {
    const stdout = new FakeStdout(80, 24);
    const room = renderControlRoom({
      store: liveStore(),
      controls: fakeControls(),
      stdout: asOut(stdout),
      stdin: asIn(new FakeStdin(true)),
    });
    await tick();
    stdout.emit('error', Object.assign(new Error('write EIO'), { code: 'EIO' }));
    // the run command asks only once the rollback is over
    await new Promise((resolve) => setTimeout(resolve, 50));
    const outcome = await Promise.race([
      room.waitUntilExit().then(() => 'exited'),
      new Promise((resolve) => setTimeout(resolve, 2000, 'pending')),
    ]);
    expect(outcome).toBe('exited');
  });

  it('unmount() ends it from the outside', async () => {
    const room = renderControlRoom({
      store: liveStore(),
      controls: fakeControls(),
      stdout: asOut(new FakeStdout(80, 24)),
      stdin: asIn(new FakeStdin(true)),
    });
    room.unmount();
    await room.waitUntilExit();
  });
});
