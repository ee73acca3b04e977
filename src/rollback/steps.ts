// The experiment's rollback steps as actions the engine can check at preflight and run at rollback:
// one factory per step type, the only place that knows them all.
import type { RollbackStep } from '../config/schema.ts';
import type { FaultDriver } from '../faults/driver.ts';
import type { RollbackAction } from './action.ts';
import { commandStep } from './command-step.ts';
import { haproxyShift } from './haproxy.ts';
import { nginxShift } from './nginx.ts';
import { podRestart } from './pod-restart.ts';

/** The embedded demo's traffic shift: its fault driver moves the dependency's traffic to the standby. */
function demoShift(driver: FaultDriver | null): RollbackAction {
  return {
    name: 'traffic-shift',
    check: async () => {
      if (!driver?.trafficShift) throw new Error("traffic-shift without haproxy or nginx needs the embedded demo's standby");
    },
    run: async () => {
      if (!driver?.trafficShift) throw new Error('this fault driver cannot shift traffic');
      await driver.trafficShift();
    },
  };
}

/** `driver`: the run's fault driver (the demo's can shift its own traffic); null for a drill. */
export function rollbackAction(step: RollbackStep, driver: FaultDriver | null): RollbackAction {
  switch (step.type) {
    case 'traffic-shift':
      if ('haproxy' in step && step.haproxy) return haproxyShift(step.haproxy);
      if ('nginx' in step && step.nginx) return nginxShift(step.nginx);
      return demoShift(driver);
    case 'command':
      return commandStep(step);
    case 'pod-restart':
      return podRestart(step);
  }
}
