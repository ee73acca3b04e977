// How much money the traffic generator reserves at a time. A reservation is held until it is sent
// or handed back, and a controller that dies has all of it counted as spent: so a chunk is about a
// second of what the generator has shown it really sends — never a second of a configured rate it
// cannot reach (a slow target, a saturated generator) — and never more than a second at that rate.

/** About this much traffic per reservation. */
const RESERVE_HORIZON_MS = 1000;
/** Headroom over the measured rate, so a generator speeding up is not starved between chunks. */
const HEADROOM = 1.5;
/** How fast a chunk may grow from one reservation to the next while the rate ramps up. */
const MAX_GROWTH = 4;
/** Smallest chunk (when the schedule allows that many): a stalled target must not mean a ledger call per request. */
const MIN_CHUNK = 16;

export interface ChunkInput {
  /** the schedule's rate */
  rps: number;
  /** the previous chunk asked for; 0 before the first */
  lastChunk: number;
  /** requests sent since the previous reservation was asked for */
  sentSinceLast: number;
  /** ms since then; null before the first */
  sinceLastMs: number | null;
  /** the first chunk, before anything is measured: what can leave at once (the in-flight limit) */
  firstChunk: number;
}

/** Requests to ask for in the next reservation: at least 1. */
export function nextChunkRequests(x: ChunkInput): number {
  const atRate = Math.max(1, Math.ceil((x.rps * RESERVE_HORIZON_MS) / 1000));
  const floor = Math.min(atRate, MIN_CHUNK);
  if (x.sinceLastMs === null || x.lastChunk === 0) return Math.max(floor, Math.min(atRate, Math.ceil(x.firstChunk)));
  const measuredPerHorizon = (x.sentSinceLast / Math.max(1, x.sinceLastMs)) * RESERVE_HORIZON_MS;
  const wanted = Math.ceil(measuredPerHorizon * HEADROOM);
  return Math.max(floor, Math.min(atRate, wanted, x.lastChunk * MAX_GROWTH));
}
