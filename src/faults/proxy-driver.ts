// The fault driver for the built-in proxy: the fault lives in this process, so taking it out needs
// nobody else (no rollback plan) and cannot fail while the process is alive.
import { describeProxyFault, type FaultDriver, type ProxyFault } from './driver.ts';
import type { FaultProxy } from './proxy.ts';

export interface ProxyFaultDriverOptions {
  proxy: FaultProxy;
  fault: ProxyFault;
  /** where "traffic-shift" sends the dependency's traffic; without it traffic-shift throws */
  standbyUrl?: string;
  /** close the proxy in close(); set when the driver started it */
  ownsProxy?: boolean;
}

export class ProxyFaultDriver implements FaultDriver {
  readonly label: string;
  readonly proxy: FaultProxy;
  private readonly fault: ProxyFault;
  private readonly standbyUrl: string | undefined;
  private readonly ownsProxy: boolean;

  constructor(opts: ProxyFaultDriverOptions) {
    this.proxy = opts.proxy;
    this.fault = { ...opts.fault };
    this.standbyUrl = opts.standbyUrl;
    this.ownsProxy = opts.ownsProxy ?? false;
    this.label = `${describeProxyFault(this.fault)} via ${new URL(this.proxy.url).host}`;
  }

  async inject(): Promise<void> {
    this.proxy.setFault(this.fault);
  }

  async remove(): Promise<void> {
    if (this.proxy.fault !== null) this.proxy.setFault(null);
  }

  async pause(): Promise<void> {
    await this.remove();
  }

  async resume(): Promise<void> {
    await this.inject();
  }

  async trafficShift(): Promise<void> {
    if (this.standbyUrl === undefined) throw new Error('no standby to shift traffic to');
    this.proxy.setUpstream(this.standbyUrl);
  }

  async close(): Promise<void> {
    if (this.ownsProxy) await this.proxy.close();
  }
}
