// One clock for the engine: epoch milliseconds with sub-millisecond resolution, monotonic within a run.
export const nowMs = (): number => performance.timeOrigin + performance.now();
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
