/**
 * Reliable stream connections over the mesh (netceptor-wire.md §11): QUIC over a datagram
 * service. A listener is an advertised service (ConnType 1, or 2 with a tls-server config);
 * every dial uses a fresh ephemeral service. TLS above the mesh checks Receptor node IDs in
 * certificates (§11.5).
 */
import {X509Certificate} from 'node:crypto';
import {EventEmitter} from 'node:events';
import {verifyReceptorName} from '../pki/names.js';
import {checkPins, type TlsClientConfig, type TlsServerConfig} from '../tls/config.js';
import {CONN_TYPE_STREAM, CONN_TYPE_STREAM_TLS, PROBLEM_SERVICE_UNKNOWN} from './codec.js';
import type {Netceptor} from './node.js';
import type {PacketConn} from './packet-conn.js';
import {QuicEndpoint} from './quic/endpoint.js';
import {quicEngine} from './quic/select.js';
import {dialQuic, listenQuic, type QuicConnection, type QuicListener, type PeerCheck} from './quic/stream.js';

export interface MeshStream {
  /** The byte stream (half-close with end()). */
  readonly conn: QuicConnection;
  readonly remoteNode: string;
  readonly remoteService: string;
}

function splitPeer(peer: string): [string, string] {
  const i = peer.lastIndexOf(':');
  return [peer.slice(0, i), peer.slice(i + 1)];
}

function endpointOn(pc: PacketConn, node?: Netceptor): QuicEndpoint {
  // A listener caps its connections (each dial is one QUIC connection from a fresh ephemeral service).
  const caps = node
    ? {
        maxConnections: node.limits.maxStreamConnections,
        maxConnectionsPerGroup: node.limits.maxStreamConnectionsPerNode,
        groupOf: (peer: string) => splitPeer(peer)[0],
        onRefused: (peer: string, cause: 'total' | 'group') => {
          const [from] = splitPeer(peer);
          const msg =
            cause === 'total'
              ? `Dropping new stream connections to service ${pc.service}: ${node.limits.maxStreamConnections} are open (maxstreamconnections)`
              : `Dropping new stream connections from ${from} to service ${pc.service}: ${node.limits.maxStreamConnectionsPerNode} are open from that node (maxstreamconnectionspernode)`;
          node.noteLimit(`stream-conns:${pc.service}:${cause}`, {service: pc.service, from}, msg);
        },
      }
    : {};
  const endpoint = new QuicEndpoint({
    engine: quicEngine(), // the process's engine (quic/select.ts)
    ...caps,
    send: (peer, packet) => {
      const [node, service] = splitPeer(peer);
      pc.writeTo(packet, node, service);
    },
  });
  pc.setHandler((d) => endpoint.receive(`${d.node}:${d.service}`, d.data));
  return endpoint;
}

/** Chain check against a CA bundle (leaf issued and signed by one of them, within validity). */
function chainError(chain: Buffer[], cas: readonly string[] | undefined): Error | undefined {
  const [first, ...rest] = chain;
  if (!first) return new Error('RVF failed: peer certificate missing');
  const leaf = new X509Certificate(first);
  const now = Date.now();
  if (now < Date.parse(leaf.validFrom) || now > Date.parse(leaf.validTo)) return new Error('x509: certificate has expired or is not yet valid');
  if (!cas) return new Error('x509: certificate signed by unknown authority');
  const pool = [...cas.map((p) => new X509Certificate(p)), ...rest.map((d) => new X509Certificate(d))];
  let cur = leaf;
  for (let depth = 0; depth < 8; depth++) {
    const issuer = pool.find((c) => cur.checkIssued(c) && cur.verify(c.publicKey));
    if (!issuer) return new Error('x509: certificate signed by unknown authority');
    if (cas.some((p) => new X509Certificate(p).fingerprint256 === issuer.fingerprint256)) return undefined;
    cur = issuer;
  }
  return new Error('x509: certificate signed by unknown authority');
}

/** Client side of a TLS stream: chain, pins, and the target's node ID (§11.5). */
function serverCheck(cfg: TlsClientConfig, target: string): PeerCheck {
  // chain[0]: chainError refused an empty chain
  return (chain) => chainError(chain, cfg.rootCas) ?? checkPins(chain[0]!, cfg.pins) ?? verifyReceptorName(chain[0]!, target);
}

/** Server side: with requireclientcert the client's node ID; with clientcas only, chain and pins. */
function clientCheck(cfg: TlsServerConfig): PeerCheck {
  return (chain, conn) => {
    const err = chainError(chain, cfg.clientCas);
    if (err) return err;
    const leaf = chain[0]!; // chainError refused an empty chain
    if (cfg.requireClientCert) return verifyReceptorName(leaf, splitPeer(conn.peer)[0]);
    return checkPins(leaf, cfg.pins);
  };
}

export class StreamListener extends EventEmitter {
  constructor(
    readonly service: string,
    private readonly pc: PacketConn,
    private readonly endpoint: QuicEndpoint,
    private readonly listener: QuicListener,
  ) {
    super();
    listener.on('connection', (conn: QuicConnection) => {
      const [remoteNode, remoteService] = splitPeer(conn.peer);
      this.emit('stream', {conn, remoteNode, remoteService} satisfies MeshStream);
    });
    listener.on('refused', (peer: string, err: Error) => this.emit('refused', peer, err));
  }

  close(): void {
    this.listener.close();
    this.endpoint.close();
    this.pc.close();
  }
}

/** Listens for stream connections on `service`, advertised with `tags` (ConnType 1, or 2 with TLS). */
export async function listenStream(node: Netceptor, service: string, opts: {tls?: TlsServerConfig; tags?: Record<string, string> | null} = {}): Promise<StreamListener> {
  const pc = node.listenPacketAndAdvertise(service, opts.tls ? CONN_TYPE_STREAM_TLS : CONN_TYPE_STREAM, opts.tags ?? null);
  try {
    const endpoint = endpointOn(pc, node);
    const t = opts.tls;
    const listener = await listenQuic(endpoint, {
      tls: t
        ? {
            certPem: t.chainPem,
            keyPem: t.keyPem,
            caPem: t.clientCas?.join('\n'),
            requireClientCert: t.requestClientCert,
            verifyPeer: t.requestClientCert ? clientCheck(t) : undefined,
          }
        : undefined,
    });
    return new StreamListener(service, pc, endpoint, listener);
  } catch (err) {
    pc.close();
    throw err;
  }
}

/**
 * Dials `service` on `target` (`localhost` = this node). With `tls` the server must present
 * a certificate naming `target` as given (so not `localhost`, which Go checks literally too);
 * without it, it must be an insecure (ConnType 1) service.
 */
export async function dialStream(node: Netceptor, target: string, service: string, opts: {tls?: TlsClientConfig; signal?: AbortSignal} = {}): Promise<MeshStream> {
  const remoteNode = target.toLowerCase() === 'localhost' ? node.id : target;
  const pc = node.listenPacket();
  const endpoint = endpointOn(pc);
  const ac = new AbortController();
  const onAbort = () => ac.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onAbort, {once: true});
  // §11.7: the dial (and later the connection) ends when the service turns out unknown.
  let conn: QuicConnection | undefined;
  pc.onUnreachable((n) => {
    if (n.problem !== PROBLEM_SERVICE_UNKNOWN || n.toNode !== remoteNode || n.toService !== service) return;
    const err = new Error('context canceled');
    if (conn) conn.abort(err);
    else ac.abort(err);
  });
  const cleanup = () => {
    opts.signal?.removeEventListener('abort', onAbort);
    endpoint.close();
    pc.close();
  };
  try {
    const t = opts.tls;
    conn = await dialQuic(endpoint, `${remoteNode}:${service}`, {
      localNodeId: node.id,
      signal: ac.signal,
      tls: t
        ? {
            certPem: t.chainPem,
            keyPem: t.keyPem,
            caPem: t.rootCas?.join('\n'),
            insecureSkipVerify: t.insecureSkipVerify,
            // The name as given, as Go does: `localhost` is not replaced by this node's ID here.
            verifyPeer: t.insecureSkipVerify ? undefined : serverCheck(t, target),
          }
        : undefined,
    });
  } catch (err) {
    cleanup();
    const reason = ac.signal.reason;
    throw reason instanceof Error && ac.signal.aborted ? reason : err;
  }
  void conn.waitClosed().finally(cleanup);
  return {conn, remoteNode, remoteService: service};
}
