// Which face a run gets: the control room needs a terminal on both ends with raw-mode keys;
// anything else, or a CI job (where Ink draws only its final frame), runs headless.

/** A CI job, as CI systems say so: CI or CONTINUOUS_INTEGRATION set, and not to 0 or false. */
function runsInCi(env: NodeJS.ProcessEnv = process.env): boolean {
  return ['CI', 'CONTINUOUS_INTEGRATION'].some((k) => env[k] && env[k] !== '0' && env[k] !== 'false');
}

/** The control room needs a terminal on both ends and raw-mode keys. */
export function canRenderControlRoom(stdin: NodeJS.ReadStream = process.stdin, stdout: NodeJS.WriteStream = process.stdout): boolean {
  return Boolean(stdin?.isTTY && stdout?.isTTY && typeof stdin.setRawMode === 'function');
}

/** Headless: asked for (--headless), under CI, or without a terminal that can host the control room. */
export function runsHeadless(
  asked: boolean,
  env: NodeJS.ProcessEnv = process.env,
  stdin = process.stdin,
  stdout = process.stdout,
): boolean {
  return asked || runsInCi(env) || !canRenderControlRoom(stdin, stdout);
}
