// How each run status reads on screen (header badge and summary banner).
import type { RunStatus } from '../src/engine/events.ts';

export const STATUS_HEADLINE: Record<RunStatus, { icon: string; badge: string; text: string; color: string }> = {
  passed: { icon: '✔', badge: 'PASSED', text: 'PASSED — SLOs held', color: 'green' },
  invalid: { icon: '✗', badge: 'INVALID', text: 'INVALID — bad usage, config or input; nothing injected', color: 'yellow' },
  refused: { icon: '✗', badge: 'REFUSED', text: 'REFUSED — preflight or baseline refused; nothing injected', color: 'yellow' },
  breach: { icon: '✖', badge: 'SLO BREACH', text: 'SLO BREACH — rolled back and recovered', color: 'yellow' },
  budget: { icon: '$', badge: 'BUDGET LIMIT', text: 'BUDGET LIMIT — stopped and rolled back', color: 'yellow' },
  stopped: { icon: '■', badge: 'STOPPED', text: 'EMERGENCY STOP — rolled back', color: 'magenta' },
  'rollback-failed': { icon: '‼', badge: 'ROLLBACK FAILED', text: 'ROLLBACK FAILED — FAULTS MAY REMAIN', color: 'red' },
};
