// The header's replay badge: " ▶ REPLAY 4× 0:12/0:31 ", so a replay is never taken for a live run.
// The position is the state's clock (nowMs, from the events, as the header's elapsed time), or where
// a seek or a pause put the replay when that is later (a seek can land between two events).
import { useStore } from 'zustand';
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { ReplayStatus } from '../src/state/replay-player.ts';
import { clock } from './format.ts';
import type { Badge } from './Header.tsx';

/** read when there is no replay (a hook cannot be called conditionally) */
const NOT_A_REPLAY = createStore<ReplayStatus | null>()(() => null);

/** "1.5×", "0.25×", "4×" */
export function speedLabel(speed: number): string {
  return `${Number(speed.toFixed(2))}×`;
}

/** Journal time since the first event, as the header shows it. */
export function replayPositionMs(r: Pick<ReplayStatus, 'startMs' | 'markMs' | 'durationMs'>, nowMs: number): number {
  return Math.max(0, Math.min(r.durationMs, Math.max(nowMs - r.startMs, r.markMs)));
}

/** `finished`: the journal's summary has been played (a journal of a run that was killed has none). */
export function replayBadge(r: ReplayStatus, nowMs: number, finished = true): Badge {
  const where = `${speedLabel(r.speed)} ${clock(replayPositionMs(r, nowMs))}/${clock(r.durationMs)}`;
  if (r.ended && !finished) return { text: ` ■ REPLAY END, NO SUMMARY: THE RUN DID NOT FINISH ${where} `, color: 'yellow' };
  if (r.ended) return { text: ` ■ REPLAY END ${where} `, color: 'blue' };
  if (r.paused) return { text: ` ‖ REPLAY PAUSED ${where} `, color: 'yellow' };
  return { text: ` ▶ REPLAY ${where} `, color: 'blue' };
}

/** The replay's status, or null outside a replay. */
export function useReplayStatus(replay: StoreApi<ReplayStatus> | undefined): ReplayStatus | null {
  const store: StoreApi<ReplayStatus | null> = replay ?? NOT_A_REPLAY;
  return useStore(store, (r) => r);
}

/** The badge of a replay at the state's time, or null outside one. */
export function useReplayBadge(replay: StoreApi<ReplayStatus> | undefined, nowMs: number, finished: boolean): Badge | null {
  const status = useReplayStatus(replay);
  return status ? replayBadge(status, nowMs, finished) : null;
}
