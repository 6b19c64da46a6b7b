/** oclif help, plus the action items (with plugin fields) under `node start` and `config check`. */
import {Help, type Command} from '@oclif/core';
import {actionHelp} from './core/config/help.js';
import {loadActionRegistry} from './core/config/plugins.js';

export default class ReceptorHelp extends Help {
  override async showCommandHelp(command: Command.Loadable): Promise<void> {
    await super.showCommandHelp(command);
    const id = command.id.replaceAll(' ', ':');
    if (id === 'node:start' || id === 'config:check') {
      try {
        const registry = await loadActionRegistry(this.config.root);
        this.log('ACTIONS (config items)\n');
        this.log(actionHelp(registry, this.config.bin));
      } catch (err) {
        this.log(`(could not list action items: ${(err as Error).message})`);
      }
    }
  }
}
