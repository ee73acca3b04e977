// Polling for a state change: the machine may be busy, so tests wait for conditions, never fixed sleeps.

/** Resolves with the time it took once `cond` holds; throws (naming `what`) after `timeoutMs`. */
export async function waitUntil(cond: () => boolean, timeoutMs: number, what = 'condition'): Promise<number> {
  const started = performance.now();
  while (!cond()) {
    if (performance.now() - started > timeoutMs) throw new Error(`${what}: not met within ${timeoutMs}ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return performance.now() - started;
}
