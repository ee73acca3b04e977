// How much the traffic generator reserves at a time: about a second of what it really sends, and
// never more than a second at the configured rate.
import { describe, expect, it } from 'vitest';
import { nextChunkRequests } from '../../src/engine/reservation-size.ts';

describe('nextChunkRequests', () => {
  it('starts with what can leave at once, bounded by a second at the configured rate', () => {
    expect(nextChunkRequests({ rps: 100, lastChunk: 0, sentSinceLast: 0, sinceLastMs: null, firstChunk: 64 })).toBe(64);
    expect(nextChunkRequests({ rps: 20, lastChunk: 0, sentSinceLast: 0, sinceLastMs: null, firstChunk: 64 })).toBe(20);
    expect(nextChunkRequests({ rps: 0.5, lastChunk: 0, sentSinceLast: 0, sinceLastMs: null, firstChunk: 64 })).toBe(1);
  });

  it('follows the measured rate with headroom, not a configured rate the generator cannot reach', () => {
    // configured 100,000 rps, but only 200 requests left in the last second
    expect(nextChunkRequests({ rps: 100_000, lastChunk: 256, sentSinceLast: 200, sinceLastMs: 1000, firstChunk: 64 })).toBe(300);
    // a stalled target: nothing sent, the floor keeps the ledger calls few
    expect(nextChunkRequests({ rps: 100_000, lastChunk: 256, sentSinceLast: 0, sinceLastMs: 1000, firstChunk: 64 })).toBe(16);
  });

  it('ramps up at most 4× per reservation, and never past a second at the configured rate', () => {
    // 32 sent in 1.6 ms is 20,000/s; the chunk may only grow 64 → 256
    expect(nextChunkRequests({ rps: 20_000, lastChunk: 64, sentSinceLast: 32, sinceLastMs: 1.6, firstChunk: 64 })).toBe(256);
    expect(nextChunkRequests({ rps: 100, lastChunk: 64, sentSinceLast: 32, sinceLastMs: 320, firstChunk: 64 })).toBe(100);
  });

  it('always asks for at least one request', () => {
    for (const rps of [0.01, 1, 7]) {
      expect(nextChunkRequests({ rps, lastChunk: 1, sentSinceLast: 0, sinceLastMs: 50_000, firstChunk: 64 })).toBeGreaterThanOrEqual(1);
    }
  });
});
