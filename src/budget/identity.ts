// Who and where a controller is, as the ledger records it. A controller is identified by host, pid
// and start time; the host is what gameday compares to decide whether a pid can be checked or a
// rollback plan executed here, so it must be one name per machine.
import { hostname, userInfo } from 'node:os';

/** GAMEDAY_HOST names this machine where hostnames collide (containers, cloned VMs); else the OS hostname. */
export function thisHost(env: NodeJS.ProcessEnv = process.env): string {
  const named = env.GAMEDAY_HOST?.trim();
  return named ? named : hostname();
}

/** Who runs it: --operator, else $USER, else the passwd entry's name. */
export function operatorName(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (flag?.trim()) return flag.trim();
  if (env.USER?.trim()) return env.USER.trim();
  try {
    return userInfo().username;
  } catch {
    return 'unknown'; // no passwd entry (containers)
  }
}
