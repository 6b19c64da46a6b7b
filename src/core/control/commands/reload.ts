/** `reload` (control-service.md §4.5, config.md §7). */
import type {ControlCommand} from '../server.js';

export interface ReloadOutcome {
  /** Omitted on success. */
  error?: string;
  /** 3 = a non-reloadable item changed; 4 = anything else. */
  code?: 3 | 4;
}

/** The daemon registers one under the name `reload` when started with a config file. */
export type ReloadHandler = () => Promise<ReloadOutcome>;

declare module '../../config/types.js' {
  interface RegistryKinds {
    reload: ReloadHandler;
  }
}

export const reloadCommand: ControlCommand = {
  name: 'reload',
  async execute(_req, ctx) {
    const handler = ctx.rt.registry('reload').get('reload');
    if (!handler) return {Error: 'no configuration file was provided, reload function not set ERRORCODE 4', Success: false};
    const out = await handler();
    if (out.error === undefined) return {Success: true};
    return {Error: `${out.error} ERRORCODE ${out.code ?? 4}`, Success: false};
  },
};
