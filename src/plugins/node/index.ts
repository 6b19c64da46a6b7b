/** The `node` item (config.md §5.1): node identity and data directory. */
import {hostname} from 'node:os';
import {parseDuration} from '../../core/go/time.js';
import {checkField, ConfigError, fieldError} from '../../core/errors.js';
import type {ActionTypeDef} from '../../core/config/types.js';
import {parseFirewallRules} from '../../core/netceptor/firewall.js';
import {DEFAULT_LIMITS, Netceptor, type NetceptorLimits} from '../../core/netceptor/node.js';
import {reportedVersionProblem, setConfiguredVersion} from '../../core/version.js';

export const DEFAULT_MAX_IDLE_MS = 21_000;

/** quic/select.ts's choices, here so the item's check does not load the QUIC modules. */
const QUIC_ENGINE_CHOICE_SET = new Set(['auto', 'quiche', 'ts']);

export interface NodeValues {
  id: string;
  datadir: string;
  firewallrules: Array<Record<string, unknown>>;
  maxidleconnectiontimeout: string;
  reportedversion: string;
  quicengine: string;
  /** The caps (ours; the loader gives 0 when unset). */
  maxknownnodes?: number;
  maxknownedges?: number;
  maxserviceads?: number;
  maxpendinglinks?: number;
  maxstreamconnections?: number;
  maxstreamconnectionspernode?: number;
  [k: string]: unknown;
}

/** The cap fields (ours only) and the limit each sets; 0 or unset means the default. */
const LIMIT_FIELDS = {
  maxknownnodes: 'maxKnownNodes',
  maxknownedges: 'maxKnownEdges',
  maxserviceads: 'maxServiceAds',
  maxpendinglinks: 'maxPendingLinks',
  maxstreamconnections: 'maxStreamConnections',
  maxstreamconnectionspernode: 'maxStreamConnectionsPerNode',
} as const satisfies Record<string, keyof NetceptorLimits>;

const LIMIT_TEXTS: Record<keyof typeof LIMIT_FIELDS, string> = {
  maxknownnodes: 'Nodes kept in the routing table; routing updates for more are dropped',
  maxknownedges: 'Connections between known nodes stored in all; routing updates adding more are dropped',
  maxserviceads: 'Service advertisements stored; ads for more services are dropped',
  maxpendinglinks: 'Backend connections in the netceptor handshake at once; more are closed at once',
  maxstreamconnections: 'QUIC stream connections a stream service (e.g. control) accepts at once; more are dropped',
  maxstreamconnectionspernode: 'QUIC stream connections a stream service accepts at once from one node; more are dropped',
};

/** The node's caps from the item (0 = default). */
export function nodeLimits(v: Pick<NodeValues, keyof typeof LIMIT_FIELDS>): Partial<NetceptorLimits> {
  const out: Partial<NetceptorLimits> = {};
  for (const [field, key] of Object.entries(LIMIT_FIELDS) as Array<[keyof typeof LIMIT_FIELDS, keyof NetceptorLimits]>) {
    const n = v[field] ?? 0;
    if (n > 0) out[key] = n;
  }
  return out;
}

/** Resolves the node ID (hostname by default) and refuses reserved names. */
export function resolveNodeId(id: string, host: () => string = hostname): string {
  if (id.toLowerCase() === 'localhost') throw fieldError('node ID "localhost" is reserved', 'id', id);
  if (id !== '') return id;
  const h = host();
  if (h === 'localhost' || h.startsWith('localhost.')) throw fieldError('no node ID specified and local host name is localhost', 'id');
  return h;
}

/** Parses `maxidleconnectiontimeout` (Go duration, ≥ 21 s); empty means the default. */
export function parseMaxIdle(text: string): number {
  if (text === '') return DEFAULT_MAX_IDLE_MS;
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch {
    throw fieldError("failed to parse MaxIdleConnectionTimeout from configuration file -- valid examples include '1.5h', '30m', '30m10s'", 'maxidleconnectiontimeout', text);
  }
  if (ms < DEFAULT_MAX_IDLE_MS) {
    throw fieldError(
      `user defined maxIdleConnectionTimeout [${Math.round(ms * 1e6)}] is less than the default default timeout [${DEFAULT_MAX_IDLE_MS * 1e6}]`,
      'maxidleconnectiontimeout',
      text,
    );
  }
  return ms;
}

export const nodeType: ActionTypeDef<NodeValues> = {
  key: 'node',
  description: 'Specifies the node configuration of this instance',
  required: true,
  singleton: true,
  fields: [
    {name: 'id', type: 'string', bare: true, description: 'Node ID. Defaults to the local hostname.'},
    {name: 'datadir', type: 'string', default: '/tmp/receptor', description: 'Directory in which to store node data.'},
    {name: 'firewallrules', type: 'json-list', description: 'Firewall rules, see documentation for syntax.'},
    {name: 'maxidleconnectiontimeout', type: 'string', description: 'Max duration with no traffic before a backend connection is timed out and refreshed.'},
    {
      name: 'reportedversion',
      type: 'string',
      description:
        'Version reported in status (the Version field receptorctl compares with its own). Default: $RECEPTOR_REPORTED_VERSION, else the receptor release of the newest receptorctl tested (1.6.9). Not a Go receptor field.',
    },
    {
      name: 'quicengine',
      type: 'string',
      description:
        'QUIC engine for mesh streams: auto (the native quiche binding when it loads, else the TypeScript engine), quiche or ts. $RECEPTOR_QUIC_ENGINE and --quic-engine override it. Not a Go receptor field.',
    },
    ...(Object.keys(LIMIT_FIELDS) as Array<keyof typeof LIMIT_FIELDS>).map((name) => ({
      name,
      type: 'int' as const,
      description: `${LIMIT_TEXTS[name]} (default ${DEFAULT_LIMITS[LIMIT_FIELDS[name]]}). Not a Go receptor field.`,
    })),
    {name: 'receptorkubesupportreconnect', type: 'string', description: 'Accepted for compatibility; unused (see RECEPTOR_KUBE_SUPPORT_RECONNECT).'},
    {name: 'receptorkubeclientsetqps', type: 'string', description: 'Accepted for compatibility; unused (see RECEPTOR_KUBE_CLIENTSET_QPS).'},
    {name: 'receptorkubeclientsetburst', type: 'string', description: 'Accepted for compatibility; unused (see RECEPTOR_KUBE_CLIENTSET_BURST).'},
    {name: 'receptorkubeclientsetratelimiter', type: 'string', description: 'Accepted for compatibility; unused (see RECEPTOR_KUBE_CLIENTSET_RATE_LIMITER).'},
  ],
  validate(v) {
    if (v.id.toLowerCase() === 'localhost') throw fieldError('node ID "localhost" is reserved', 'id', v.id);
    parseMaxIdle(v.maxidleconnectiontimeout);
    for (const f of Object.keys(LIMIT_FIELDS) as Array<keyof typeof LIMIT_FIELDS>) {
      const n = v[f] ?? 0;
      if (n < 0 || !Number.isInteger(n)) throw fieldError(`${f} must be a whole number, 0 or more (0 = default)`, f, String(n));
    }
    checkField('firewallrules', undefined, () => parseFirewallRules(v.firewallrules)); // the message names the rule
    if (v.quicengine && !QUIC_ENGINE_CHOICE_SET.has(v.quicengine.toLowerCase())) {
      throw fieldError(`${v.quicengine} is not a QUIC engine (use auto, quiche, ts)`, 'quicengine', v.quicengine);
    }
    const why = reportedVersionProblem(v.reportedversion);
    // Set in the item: the field is wrong; else $RECEPTOR_REPORTED_VERSION is, and the item as a whole refused.
    if (why) throw v.reportedversion ? fieldError(why, 'reportedversion', v.reportedversion) : new ConfigError(why);
  },
  create(v) {
    return {
      async init(rt) {
        const id = resolveNodeId(v.id);
        rt.logger.setBindings({node: id});
        const rules = parseFirewallRules(v.firewallrules);
        for (const r of rules) {
          for (const ig of r.ignored) rt.logger.warn({field: ig.field, value: ig.value}, `firewall rule condition ignored: ${ig.reason}`);
        }
        const node = new Netceptor({
          nodeId: id,
          dataDir: v.datadir,
          logger: rt.logger,
          maxIdleMs: parseMaxIdle(v.maxidleconnectiontimeout),
          firewallRules: rules,
          limits: nodeLimits(v),
          onFatal: (reason) => rt.requestShutdown(reason, 0),
        });
        setConfiguredVersion(node, v.reportedversion);
        rt.setNode(node);
        // The process's QUIC engine, chosen once at start (loads the native binding for auto).
        const {configureQuicEngine} = await import('../../core/netceptor/quic/select.js');
        const sel = await configureQuicEngine(v.quicengine);
        rt.logger.info({quicEngine: sel.name, choice: sel.choice, source: sel.source, reason: sel.reason}, `QUIC engine: ${sel.name}`);
        rt.onShutdown(() => node.shutdown());
        // The work manager: registers `remote` and resumes units found on disk (§10).
        const {initWorkceptor} = await import('../../core/work/plugin-glue.js');
        await initWorkceptor(rt);
      },
    };
  },
};
