// The header's replay badge: " ▶ REPLAY 4× 0:12/0:31 ", so a replay is never taken for a live run.
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

export function replayBadge(r: ReplayStatus): Badge {
  const where = `${speedLabel(r.speed)} ${clock(r.positionMs)}/${clock(r.durationMs)}`;
  if (r.ended) return { text: ` ■ REPLAY END ${where} `, color: 'blue' };
  if (r.paused) return { text: ` ‖ REPLAY PAUSED ${where} `, color: 'yellow' };
  return { text: ` ▶ REPLAY ${where} `, color: 'blue' };
}

/** The replay's status, or null outside a replay. */
export function useReplayStatus(replay: StoreApi<ReplayStatus> | undefined): ReplayStatus | null {
  const store: StoreApi<ReplayStatus | null> = replay ?? NOT_A_REPLAY;
  return useStore(store, (r) => r);
}

/** The badge of a replay, or null outside one. */
export function useReplayBadge(replay: StoreApi<ReplayStatus> | undefined): Badge | null {
  const status = useReplayStatus(replay);
  return status ? replayBadge(status) : null;
}
