import {Flags} from '@oclif/core';
import {ReceptorCommand} from '../../core/cli/base.js';
import {collectPluginTypes} from '../../core/config/plugins.js';
import {errorMessage} from '../../core/errors.js';

export interface PluginListEntry {
  name: string;
  version: string;
  /** core: shipped with receptor; user: `plugins install`; link: `plugins link`. */
  type: string;
  /** Linked plugins: the folder they are linked from. */
  root?: string;
  /** The configuration keys (action types) the plugin registers, if it registers any. */
  configKeys?: string[];
}

export interface PluginListResult {
  plugins: PluginListEntry[];
  /** Set when the plugins' config keys could not be read (a plugin's hook failed). */
  configKeysError?: string;
}

/**
 * `receptor plugins`: the installed plugins in short. It takes the place of
 * @oclif/plugin-plugins' list command (whose --json is the whole oclif plugin objects); its
 * install, link, uninstall, update and inspect commands are used as they are.
 */
export default class PluginsIndex extends ReceptorCommand {
  static override summary = 'List installed plugins.';
  static override description = `Lists the plugins installed with "plugins install" or linked with "plugins link" (with --core also the ones shipped with receptor), each with its version and the configuration keys (action types) it registers.

With --json: an array of {"name", "version", "type" (core, user or link), "root" (link only), "configKeys" (if it registers any)}, core plugins included.`;
  static override examples = ['<%= config.bin %> plugins', '<%= config.bin %> plugins --core', '<%= config.bin %> plugins --json'];
  static override flags = {
    core: Flags.boolean({summary: 'Also list the plugins shipped with receptor.'}),
  };

  async run(): Promise<PluginListEntry[]> {
    const {flags} = await this.parse(PluginsIndex);
    const {plugins, configKeysError} = await this.list();
    if (!this.jsonEnabled()) {
      const shown = plugins.filter((p) => flags.core || (p.type !== 'core' && p.type !== 'dev'));
      if (shown.length === 0) this.log('No plugins installed.');
      for (const p of shown) {
        const where = p.type === 'link' ? ` ${p.root}` : '';
        this.log(`${p.name} ${p.version} (${p.type})${where}`);
        if (p.configKeys?.length) this.log(`  config keys: ${p.configKeys.join(', ')}`);
      }
      if (configKeysError) this.warn(`could not list config keys: ${configKeysError}`);
    }
    return plugins;
  }

  private async list(): Promise<PluginListResult> {
    const keys = new Map<string, string[]>();
    let configKeysError: string | undefined;
    try {
      for (const g of await collectPluginTypes(this.config.root)) keys.set(g.plugin, g.types.map((t) => t.key).sort());
    } catch (err) {
      configKeysError = errorMessage(err);
    }
    const plugins = this.config
      .getPluginsList()
      .filter((p) => !p.parent)
      .map((p): PluginListEntry => {
        const entry: PluginListEntry = {name: p.name, version: p.version, type: p.type};
        if (p.type === 'link') entry.root = p.root;
        const k = keys.get(p.name);
        if (k?.length) entry.configKeys = k;
        return entry;
      })
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return {plugins, configKeysError};
  }
}
