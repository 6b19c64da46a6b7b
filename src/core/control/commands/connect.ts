/** `connect` (control-service.md §4.4): a raw bridge between the control socket and a mesh stream. */
import {ControlError} from '../protocol.js';
import type {ControlCommand} from '../server.js';
import {netceptorOf} from './common.js';

function args(req: Parameters<ControlCommand['execute']>[0]): {node: string; service: string; tls: string} {
  if (req.form === 'text') {
    const [node, service, tls = '', ...more] = req.params.split(' ');
    if (req.params === '' || node === undefined || service === undefined) throw new ControlError('no connect target');
    if (more.length > 0) throw new ControlError('too many parameters');
    return {node, service, tls};
  }
  const a = req.args;
  if (!('node' in a)) throw new ControlError('no connect target node');
  if (typeof a.node !== 'string') throw new ControlError('connect target node must be string');
  if (!('service' in a)) throw new ControlError('no connect target service');
  if (typeof a.service !== 'string') throw new ControlError('connect target service must be string');
  if ('tls' in a && typeof a.tls !== 'string') throw new ControlError('connect tls name must be string');
  return {node: a.node, service: a.service, tls: (a.tls as string | undefined) ?? ''};
}

export const connectCommand: ControlCommand = {
  name: 'connect',
  async execute(req, ctx) {
    const {node: target, service, tls} = args(req);
    const node = netceptorOf(ctx.rt);
    // Loaded on first use: the stream layer (QUIC, TLS, X.509) is large and many nodes never dial.
    const [{tlsClientConfigOf}, {dialStream}] = await Promise.all([import('../../tls/config.js'), import('../../netceptor/streams.js')]);
    let tlsConfig;
    if (tls !== '') {
      tlsConfig = tlsClientConfigOf(ctx.rt.registry('tls-client').get(tls));
      if (!tlsConfig) throw new ControlError(`unknown TLS config ${tls}`, 'E_TLS_CONFIG_UNKNOWN');
    }
    let stream;
    try {
      stream = await dialStream(node, target, service, {tls: tlsConfig, signal: ctx.signal});
    } catch (err) {
      throw new ControlError((err as Error).message);
    }
    ctx.writeLine('Connecting');
    const raw = ctx.takeRaw();
    const mesh = stream.conn.stream;
    // Control side EOF half-closes the mesh stream; mesh EOF closes the control socket.
    raw.pipe(mesh);
    mesh.pipe(raw);
    mesh.on('error', () => raw.destroy());
    raw.on('error', () => mesh.destroy());
    mesh.on('end', () => raw.end());
    return undefined;
  },
};
