// One clock for the engine: epoch milliseconds with sub-millisecond resolution, monotonic within a
// run. The run takes a Clock in its options and reads time only through it.
export type Clock = () => number;
export const nowMs: Clock = () => performance.timeOrigin + performance.now();
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
