/**
 * Ping and traceroute over the mesh (netceptor-wire.md §9.3–§9.4), used by the control
 * service's `ping` and `traceroute` commands.
 */
import {MAX_FORWARDING_HOPS, PROBLEM_EXPIRED, SERVICE_PING} from './codec.js';
import type {Netceptor} from './node.js';

export const PING_TIMEOUT_MS = 10_000;

export interface PingResult {
  /** The node that answered, or that reported the problem (the local node for local errors). */
  from: string;
  /** Round-trip time in nanoseconds. */
  timeNs: bigint;
  /** Problem text on failure (`timeout`, `no route to node`, `message expired`, …). */
  error?: string;
}

export interface PingOptions {
  hopsToLive?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Sends one ping; never rejects: failures come back in `error`. */
export function ping(node: Netceptor, target: string, opts: PingOptions = {}): Promise<PingResult> {
  // Like Go, the clock starts once the reply socket exists, just before the ping is sent.
  let start = process.hrtime.bigint();
  const elapsed = () => process.hrtime.bigint() - start;
  return new Promise<PingResult>((resolve) => {
    let pc: ReturnType<Netceptor['listenPacket']> | undefined;
    let timer: ReturnType<Netceptor['clock']['setTimeout']> | undefined;
    let done = false;
    const finish = (r: Omit<PingResult, 'timeNs'>) => {
      if (done) return;
      done = true;
      if (timer) node.clock.clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      node.off('shutdown', onShutdown);
      pc?.close();
      resolve({...r, timeNs: elapsed()});
    };
    const onAbort = () => finish({from: node.id, error: 'user cancelled'});
    const onShutdown = () => finish({from: node.id, error: 'netceptor shutdown'});
    try {
      pc = node.listenPacket();
    } catch (err) {
      finish({from: node.id, error: (err as Error).message});
      return;
    }
    pc.setHandler((d) => finish({from: d.node}));
    pc.onUnreachable((n) => finish({from: n.reporter, error: n.problem}));
    node.once('shutdown', onShutdown);
    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener('abort', onAbort, {once: true});
    timer = node.clock.setTimeout(() => finish({from: node.id, error: 'timeout'}), opts.timeoutMs ?? PING_TIMEOUT_MS);
    try {
      start = process.hrtime.bigint();
      pc.writeTo(Buffer.alloc(0), target, SERVICE_PING, opts.hopsToLive ?? MAX_FORWARDING_HOPS);
    } catch (err) {
      finish({from: node.id, error: (err as Error).message});
    }
  });
}

/**
 * Traceroute: pings with HopsToLive 0, 1, … 30. `message expired` names an intermediate
 * hop; the target's reply or any other error ends the trace. `onHop` sees hops as they
 * arrive.
 */
export async function traceroute(
  node: Netceptor,
  target: string,
  opts: {onHop?: (hop: number, r: PingResult) => void; signal?: AbortSignal; timeoutMs?: number} = {},
): Promise<PingResult[]> {
  const hops: PingResult[] = [];
  for (let h = 0; h <= MAX_FORWARDING_HOPS; h++) {
    const r = await ping(node, target, {hopsToLive: h, signal: opts.signal, timeoutMs: opts.timeoutMs});
    const expired = r.error === PROBLEM_EXPIRED;
    const hop: PingResult = expired ? {from: r.from, timeNs: r.timeNs} : r;
    hops.push(hop);
    opts.onHop?.(h, hop);
    if (!expired) break;
  }
  return hops;
}
