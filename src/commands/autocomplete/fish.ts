import {Command} from '@oclif/core';

export default class AutocompleteFish extends Command {
  static override summary = 'Display fish autocomplete installation instructions.';
  static override description = '"<%= config.bin %> autocomplete bash|zsh|powershell" (from @oclif/plugin-autocomplete) covers the other shells.';
  static override examples = ['<%= config.bin %> autocomplete fish'];

  async run(): Promise<void> {
    await this.parse(AutocompleteFish);
    const bin = this.config.bin;
    this.log(`Setup instructions for ${bin} autocomplete in fish:

1) Write the completion script where fish looks for completions:

  mkdir -p ~/.config/fish/completions
  ${bin} autocomplete script fish > ~/.config/fish/completions/${bin}.fish

2) Open a new fish session (or run "source ~/.config/fish/completions/${bin}.fish"), then:

  ${bin} <TAB>                  # command completion
  ${bin} command --<TAB>        # flag completion

Run step 1 again after installing or removing plugins.`);
  }
}
