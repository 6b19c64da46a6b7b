/** Go-style action help generated from the registered field schemas (config.md §1). */
import {GO_TYPE_NAMES} from './coerce.js';
import type {ActionRegistry} from './registry.js';

export function actionHelp(registry: ActionRegistry, bin = 'receptor'): string {
  const lines: string[] = [
    `Usage: ${bin} [--<action> [<param>=<value> ...] ...]`,
    '',
    '   --help: Show this help',
    '',
    '   --config <filename>: Load additional config options from a YAML file',
    '',
  ];
  for (const {def, plugin} of registry.list()) {
    if (def.hidden) continue;
    const flags = [def.required ? 'required' : '', def.singleton ? 'only once' : '', def.exclusive ? 'exclusive' : ''].filter(Boolean).join(', ');
    lines.push(`   --${def.key}: ${def.description}${flags ? ` (${flags})` : ''}${plugin && !plugin.startsWith('receptor-mesh') ? ` [plugin ${plugin}]` : ''}`);
    for (const f of def.fields) {
      const notes = [f.required ? 'required' : '', f.default !== undefined ? `default: ${f.default}` : '', f.bare ? 'bare value' : ''].filter(Boolean).join(', ');
      lines.push(`      ${f.name}=<${GO_TYPE_NAMES[f.type]}>: ${f.description}${notes ? ` (${notes})` : ''}`);
    }
    lines.push('');
  }
  return lines.join('\n');
}
