/**
 * After `receptor plugins install|uninstall`: npm prunes the link through which installed
 * plugins import `receptor-mesh` (core/config/plugin-host.ts); put it back at once rather
 * than at the next start.
 */
import {discoverPlugins} from '../core/config/plugins.js';

export default async function relinkHostPackage(): Promise<void> {
  try {
    discoverPlugins();
  } catch {
    // a broken plugin is reported, naming it, when its hook is loaded
  }
}
