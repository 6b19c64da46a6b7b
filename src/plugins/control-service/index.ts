/** `control-service` (config.md §5.8): the control protocol on unix, TCP(+TLS) and the mesh. */
import {fieldsOf, type ItemValues} from '../../core/config/fields.js';
import type {ActionTypeDef, Runtime} from '../../core/config/types.js';
import type {ControlServiceOptions} from '../../core/control/service.js';
import {ConfigError, fieldError} from '../../core/errors.js';
import {parseIdleTimeout} from '../../core/control/idle.js';

export type ControlServiceValues = ItemValues<ControlServiceOptions>;

export const controlServiceType: ActionTypeDef<ControlServiceValues> = {
  key: 'control-service',
  description: 'Runs a control service',
  fields: fieldsOf<ControlServiceOptions>()([
    {name: 'service', type: 'string', default: 'control', description: 'Receptor service name to listen on'},
    {name: 'filename', type: 'string', description: 'Filename of local Unix socket to bind to the service'},
    {name: 'permissions', type: 'int', default: '0600', display: 'octal', description: 'Socket file permissions'},
    {name: 'tls', type: 'string', description: 'Name of TLS server config for the Receptor listener'},
    {name: 'tcplisten', type: 'string', description: 'Local TCP port or host:port to bind to the control service'},
    {name: 'tcptls', type: 'string', description: 'Name of TLS server config for the TCP listener'},
    {
      name: 'idletimeout',
      type: 'string',
      description: 'How long a session may wait for a request line before it is closed (Go duration; default 10m, 0 never). Not a Go receptor field.',
    },
    {name: 'maxsessions', type: 'int', description: 'Concurrent sessions per listener; more are closed at once (default 1024). Not a Go receptor field.'},
  ]),
  validate(v) {
    if (v.service === '' && v.filename === '' && v.tcplisten === '') throw new ConfigError('no listeners specified'); // no one field is wrong
    try {
      parseIdleTimeout(v.idletimeout);
    } catch (err) {
      throw fieldError((err as Error).message, 'idletimeout', v.idletimeout);
    }
    if (v.maxsessions < 0) throw fieldError('maxsessions must not be negative', 'maxsessions', String(v.maxsessions));
    if (Buffer.byteLength(v.service) > 8) throw fieldError(`error opening Unix socket: service name ${v.service} too long`, 'service', v.service);
  },
  create(v) {
    return {
      async run(rt: Runtime) {
        const {startControlService} = await import('../../core/control/service.js');
        await startControlService(rt, v);
      },
    };
  },
};
