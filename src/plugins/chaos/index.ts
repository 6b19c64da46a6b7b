/**
 * `chaos` (ours; Go refuses the item): wraps every mesh backend the node starts in the chaos
 * layer (src/core/netceptor/chaos.ts), which drops, delays, duplicates, reorders and corrupts
 * messages and cuts links on a schedule from a seed. For fault tests only; the node says so
 * loudly at start.
 */
import type {ActionTypeDef} from '../../core/config/types.js';
import {fieldError, ReceptorError} from '../../core/errors.js';
import {parseDuration} from '../../core/go/time.js';
import {isMeshNode} from '../../core/netceptor/backend.js';
import {ChaosLink, type ChaosOptions} from '../../core/netceptor/chaos.js';

export interface ChaosValues {
  seed: number;
  drop: number;
  duplicate: number;
  reorder: number;
  corrupt: number;
  delaymin: string;
  delaymax: string;
  cutevery: string;
  cutfor: string;
  cutmode: string;
  peers: string[];
  backends: string[];
  [k: string]: unknown;
}

const RATES = ['drop', 'duplicate', 'reorder', 'corrupt'] as const;
const CUT_MODES = ['drop', 'close'];

/** A Go duration field; empty means 0. */
function durationMs(v: ChaosValues, field: 'delaymin' | 'delaymax' | 'cutevery' | 'cutfor'): number {
  const text = v[field];
  if (text === '') return 0;
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (err) {
    throw fieldError((err as Error).message, field, text);
  }
  if (ms < 0) throw fieldError(`${field} must not be negative`, field, text);
  return ms;
}

/** The item's values as chaos-layer options (checks every field). */
export function chaosOptions(v: ChaosValues): ChaosOptions {
  if (!Number.isInteger(v.seed)) throw fieldError('seed must be an integer', 'seed', v.seed);
  for (const r of RATES) {
    if (!(v[r] >= 0 && v[r] <= 1)) throw fieldError(`${r} is a fraction of messages and must be between 0 and 1`, r, v[r]);
  }
  const delayMinMs = durationMs(v, 'delaymin');
  const delayMaxMs = durationMs(v, 'delaymax');
  if (delayMaxMs < delayMinMs) throw fieldError(`delaymax must not be less than delaymin (${v.delaymin})`, 'delaymax', v.delaymax);
  const cutEveryMs = durationMs(v, 'cutevery');
  const cutForMs = durationMs(v, 'cutfor');
  if (cutForMs > 0 && cutEveryMs === 0) throw fieldError('cutfor needs cutevery (how often a cut starts)', 'cutfor', v.cutfor);
  if (cutEveryMs > 0 && cutForMs === 0) throw fieldError('cutevery needs cutfor (how long a cut lasts)', 'cutevery', v.cutevery);
  if (cutEveryMs > 0 && cutForMs >= cutEveryMs) throw fieldError(`cutfor must be shorter than cutevery (${v.cutevery})`, 'cutfor', v.cutfor);
  const mode = v.cutmode.toLowerCase();
  if (!CUT_MODES.includes(mode)) throw fieldError(`${v.cutmode} is not a cut mode (use drop, close)`, 'cutmode', v.cutmode);
  if (v.peers.some((p) => p === '')) throw fieldError('peers must not contain an empty node ID', 'peers', v.peers);
  if (v.backends.some((b) => b === '')) throw fieldError('backends must not contain an empty backend kind', 'backends', v.backends);
  const opts: ChaosOptions = {
    seed: v.seed,
    drop: v.drop,
    duplicate: v.duplicate,
    reorder: v.reorder,
    corrupt: v.corrupt,
    delayMinMs,
    delayMaxMs,
    cutMode: mode as 'drop' | 'close',
  };
  if (cutEveryMs > 0) Object.assign(opts, {cutEveryMs, cutForMs});
  if (v.peers.length > 0) opts.peers = [...v.peers];
  if (v.backends.length > 0) opts.backends = v.backends.map((b) => b.toLowerCase());
  return opts;
}

export const chaosType: ActionTypeDef<ChaosValues> = {
  key: 'chaos',
  description:
    'Fault injection for tests: drops, delays, duplicates, reorders and corrupts mesh messages and cuts links on a schedule, from a seed. Never in production. Not a Go receptor item.',
  singleton: true,
  fields: [
    {name: 'seed', type: 'int', default: 1, description: 'PRNG seed: the same seed and message order give the same faults'},
    {name: 'drop', type: 'float', default: 0, description: 'Fraction (0-1) of messages dropped, each direction'},
    {name: 'duplicate', type: 'float', default: 0, description: 'Fraction of messages delivered twice'},
    {name: 'reorder', type: 'float', default: 0, description: 'Fraction of messages delivered after the next one'},
    {name: 'corrupt', type: 'float', default: 0, description: 'Fraction of messages with one byte changed'},
    {name: 'delaymin', type: 'string', description: 'Least delay of a message (Go duration, e.g. 5ms)'},
    {name: 'delaymax', type: 'string', description: 'Greatest delay of a message; order is kept'},
    {name: 'cutevery', type: 'string', description: 'A link cut starts this often (Go duration; needs cutfor)'},
    {name: 'cutfor', type: 'string', description: 'How long a cut lasts (shorter than cutevery)'},
    {name: 'cutmode', type: 'string', default: 'drop', description: 'drop: a cut loses every message both ways; close: it also closes the sessions'},
    {name: 'peers', type: 'string-list', description: 'Only links to these node IDs (default: all)'},
    {name: 'backends', type: 'string-list', description: 'Only these backends: tcp, udp, ws, or an item such as udp-peer (default: all)'},
  ],
  validate(v) {
    chaosOptions(v);
  },
  create(v) {
    return {
      prepare(rt) {
        const node = rt.node;
        if (!isMeshNode(node) || !node.setBackendWrapper) throw new ReceptorError('E_NO_MESH', 'chaos needs a mesh node, but this node cannot run mesh backends');
        const link = new ChaosLink(chaosOptions(v));
        node.setBackendWrapper((b) => link.wrapBackend(b));
        const log = rt.logger.child({chaos: true});
        link.onCutChange((cut) => log.info({cuts: link.stats.cuts}, cut ? 'chaos: links cut' : 'chaos: links restored'));
        rt.onShutdown(() => {
          link.stop();
          log.info({stats: link.stats}, 'chaos: fault counts');
        });
        rt.logger.warn(
          {
            seed: v.seed,
            drop: v.drop,
            duplicate: v.duplicate,
            reorder: v.reorder,
            corrupt: v.corrupt,
            delaymin: v.delaymin,
            delaymax: v.delaymax,
            cutevery: v.cutevery,
            cutfor: v.cutfor,
          },
          '*** CHAOS LAYER ACTIVE: this node damages its own mesh traffic on purpose (the chaos item). For fault tests only; remove the item for real use. ***',
        );
      },
    };
  },
};
