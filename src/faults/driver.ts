// A fault driver puts one fault in and takes it out again. remove() must be idempotent and safe to
// call on every exit path, whether or not inject() finished.

/** The faults the built-in proxy applies to each request it forwards (Toxiproxy's model, over HTTP). */
export type ProxyFault =
  | { type: 'latency'; latencyMs: number; jitterMs: number; probability: number }
  | { type: 'errors'; status: number; probability: number }
  | { type: 'blackhole'; probability: number }
  | { type: 'reset'; probability: number }
  | { type: 'bandwidth'; rateKbps: number; probability: number };

export interface FaultDriver {
  /** for people: "latency 800ms ±50ms on 100% via 127.0.0.1:7001" */
  readonly label: string;
  inject(): Promise<void>;
  /** Take the fault out. Idempotent; throws when the fault may still be in. */
  remove(): Promise<void>;
  /** Pause keeps the experiment running with the fault out; resume puts it back. */
  pause?(): Promise<void>;
  resume?(): Promise<void>;
  /** A rollback step after removal, e.g. "traffic-shift" for the proxy. */
  trafficShift?(): Promise<void>;
  /** Release resources (listeners). Called once, after remove(). */
  close(): Promise<void>;
}

export function describeProxyFault(f: ProxyFault): string {
  const share = f.probability < 1 ? ` on ${Math.round(f.probability * 1000) / 10}%` : '';
  switch (f.type) {
    case 'latency':
      return `latency ${f.latencyMs}ms${f.jitterMs ? ` ±${f.jitterMs}ms` : ''}${share}`;
    case 'errors':
      return `HTTP ${f.status}${share}`;
    case 'blackhole':
      return `blackhole${share}`;
    case 'reset':
      return `connection reset${share}`;
    case 'bandwidth':
      return `bandwidth ${f.rateKbps} kbps${share}`;
  }
}
