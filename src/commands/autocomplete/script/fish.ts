import {Command} from '@oclif/core';
import {fishCompletion, type FishCommand} from '../../../core/cli/fish-completion.js';

export default class AutocompleteScriptFish extends Command {
  static override hidden = true;
  static override summary = 'Print the fish completion script.';
  static override description =
    'Prints a fish completion script for every command and flag. Install it with:\n\n  <%= config.bin %> autocomplete script fish > ~/.config/fish/completions/<%= config.bin %>.fish';

  async run(): Promise<void> {
    await this.parse(AutocompleteScriptFish);
    const commands: FishCommand[] = this.config.commands
      .filter((c) => !c.hidden)
      .map((c) => ({
        words: c.id.split(':'),
        summary: c.summary ?? c.description,
        flags: Object.values(c.flags ?? {})
          .filter((f) => !f.hidden)
          .map((f) => ({
            name: f.name,
            char: f.char,
            takesValue: f.type === 'option',
            summary: f.summary ?? f.description,
            options: f.type === 'option' ? f.options : undefined,
          })),
      }));
    const topics = Object.fromEntries(this.config.topics.map((t) => [t.name.replaceAll(':', ' '), t.description ?? '']));
    const script = fishCompletion(this.config.bin, commands, topics);
    this.log(script.replaceAll('<%= config.bin %>', this.config.bin).trimEnd());
  }
}
