/**
 * `example-heartbeat`: a plain config item that logs a message at an interval and
 * (optionally) counts as a backend so a node can run with nothing else. It shows the item
 * lifecycle (Init, Prepare, Run, shutdown) and imports only types from the core.
 */
import {appendFileSync} from 'node:fs';
import type {ActionTypeDef, Runtime} from 'receptor-mesh';

interface HeartbeatValues {
  message: string;
  interval: number;
  marker: string;
  backend: boolean;
  [k: string]: unknown;
}

export const heartbeat: ActionTypeDef<HeartbeatValues> = {
  key: 'example-heartbeat',
  description: 'Logs a heartbeat message at a fixed interval (example plugin)',
  fields: [
    {name: 'message', type: 'string', bare: true, default: 'still here', description: 'Text to log'},
    {name: 'interval', type: 'int', default: 5, description: 'Seconds between heartbeats'},
    {name: 'marker', type: 'string', description: 'File to which each phase appends its name (for tests)'},
    {name: 'backend', type: 'bool', default: true, description: 'Count as a backend, so a node may run with only this item'},
  ],
  validate(v) {
    if (v.interval <= 0) throw new Error(`interval must be positive, got ${v.interval}`);
  },
  create(v, ctx) {
    const mark = (phase: string) => {
      if (v.marker) appendFileSync(v.marker, `${phase} ${ctx.key} ${v.message}\n`);
    };
    return {
      init(rt: Runtime) {
        mark('init');
        rt.logger.debug({plugin: ctx.plugin}, 'example-heartbeat initialised');
      },
      prepare() {
        mark('prepare');
      },
      run(rt: Runtime) {
        mark('run');
        if (v.backend) rt.node.addBackend({kind: 'example-heartbeat', description: v.message});
        const timer = setInterval(() => rt.logger.info({heartbeat: v.message}, 'heartbeat'), v.interval * 1000);
        timer.unref();
        rt.onShutdown(() => {
          clearInterval(timer);
          mark('shutdown');
        });
      },
    };
  },
};
