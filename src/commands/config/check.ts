import {Flags} from '@oclif/core';
import {ReceptorCommand} from '../../core/cli/base.js';
import {loadConfig} from '../../core/config/load.js';
import {loadActionRegistry} from '../../core/config/plugins.js';
import {describeSource, type ItemSource} from '../../core/errors.js';

export interface CheckedItem {
  index: number;
  key: string;
  plugin: string;
  source: ItemSource;
  implicit: boolean;
  values: Record<string, unknown>;
  explicit: string[];
}

export interface ConfigCheckResult {
  valid: true;
  files: string[];
  items: CheckedItem[];
  warnings: string[];
}

export default class ConfigCheck extends ReceptorCommand {
  static override summary = 'Validate configuration and print the resolved items.';
  static override description = `Loads the files (and any Go-style actions given after them) exactly as "node start" would, without starting anything, and prints every item with its effective field values and the plugin that provides it. Exit code 1 and an error naming file, item, key, field and value when the configuration is invalid.`;
  static override examples = [
    '<%= config.bin %> config check -c receptor.conf',
    '<%= config.bin %> config check -c receptor.conf --json',
    '<%= config.bin %> config check -c base.yml -c site.yml -- --log-level debug',
  ];
  static override strict = false;
  static override flags = {
    config: Flags.string({char: 'c', summary: 'Config file (repeatable; merged in order).', multiple: true, required: true}),
  };

  async run(): Promise<ConfigCheckResult> {
    const {flags, argv} = await this.parse(ConfigCheck);
    const goArgs = [...flags.config.flatMap((f) => ['--config', f]), ...(argv as string[])];
    const registry = await loadActionRegistry(this.config.root);
    const loaded = loadConfig(goArgs, registry);
    const items: CheckedItem[] = loaded.items.map((it, i) => ({
      index: i + 1,
      key: it.key,
      plugin: it.plugin,
      source: it.source,
      implicit: it.implicit,
      values: it.values,
      explicit: [...it.explicit],
    }));
    const result: ConfigCheckResult = {valid: true, files: loaded.configFiles, items, warnings: loaded.warnings};
    if (!this.jsonEnabled()) {
      for (const w of loaded.warnings) this.logToStderr(`Warning: ${w}`);
      this.log(`Configuration is valid: ${items.length} item(s) from ${loaded.configFiles.length} file(s).`);
      for (const it of items) {
        const where = it.implicit ? 'implicit' : describeSource(it.source);
        this.log(`\n${it.index}. ${it.key}  [plugin ${it.plugin}; ${where}]`);
        const octal = new Set(
          registry
            .get(it.key)
            ?.def.fields.filter((f) => f.display === 'octal')
            .map((f) => f.name),
        );
        for (const [k, v] of Object.entries(it.values)) {
          const mark = it.explicit.includes(k) ? '' : '  (default)';
          const shown = octal.has(k) && typeof v === 'number' ? `0${v.toString(8)}` : JSON.stringify(v);
          this.log(`     ${k}: ${shown}${mark}`);
        }
      }
    }
    return result;
  }
}
