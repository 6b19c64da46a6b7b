import type {Runtime} from '../../config/types.js';
import {Netceptor} from '../../netceptor/node.js';
import {ControlError} from '../protocol.js';

export function netceptorOf(rt: Runtime): Netceptor {
  const node = rt.node;
  if (!(node instanceof Netceptor)) throw new ControlError('this node has no mesh layer', 'E_NO_MESH');
  return node;
}

/** A JSON request's string argument, with Go receptor's error texts. */
export function stringArg(args: Record<string, unknown>, key: string, missing: string, wrongType: string): string {
  if (!(key in args)) throw new ControlError(missing);
  const v = args[key];
  if (typeof v !== 'string') throw new ControlError(wrongType);
  return v;
}
