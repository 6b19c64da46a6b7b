/**
 * A fish completion script for the CLI's commands (@oclif/plugin-autocomplete covers bash,
 * zsh and PowerShell, not fish). Command words complete by position, flags once the command
 * is typed, and flags that take a value complete file names.
 */
export interface FishCommand {
  /** The command's words, e.g. ['work', 'submit']. */
  words: string[];
  summary?: string;
  flags: Array<{name: string; char?: string; takesValue: boolean; summary?: string; options?: readonly string[]}>;
}

/** A single-quoted fish string. */
function quote(s: string): string {
  return `'${s.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

/** The first line of a summary, without a trailing period (fish shows it next to the word). */
function short(s: string | undefined): string {
  return (s ?? '').split('\n', 1)[0]!.trim().replace(/\.$/, ''); // split gives at least one string
}

/** `topics`: descriptions of the words that group commands (`work`, `cert`), by their words joined with spaces. */
export function fishCompletion(bin: string, commands: FishCommand[], topics: Record<string, string> = {}): string {
  const fn = `__${bin.replace(/[^A-Za-z0-9_]/g, '_')}`;
  const out = [
    `# fish completion for ${bin}: ${bin} autocomplete script fish > ~/.config/fish/completions/${bin}.fish`,
    `function ${fn}_words --description 'the command words typed so far (no flags, no flag values)'`,
    '    set -l words (commandline -opc)',
    '    set -e words[1]',
    '    set -l skip 0',
    '    for w in $words',
    '        if test $skip -eq 1',
    '            set skip 0',
    "        else if string match -q -- '--*=*' $w",
    "        else if string match -q -- '-*' $w",
    `            contains -- $w $${fn}_value_flags; and set skip 1`,
    '        else',
    '            echo $w',
    '        end',
    '    end',
    'end',
    `function ${fn}_in --description 'true when the command words typed so far start with the arguments'`,
    `    set -l words (${fn}_words)`,
    '    test (count $words) -ge (count $argv); or return 1',
    '    for i in (seq (count $argv))',
    '        test "$words[$i]" = "$argv[$i]"; or return 1',
    '    end',
    'end',
    `function ${fn}_at --description 'true when the command words typed so far are exactly the arguments'`,
    `    ${fn}_in $argv; and test (count (${fn}_words)) -eq (count $argv)`,
    'end',
  ];
  const valueFlags = new Set<string>();
  for (const c of commands) {
    for (const f of c.flags) {
      if (!f.takesValue) continue;
      valueFlags.add(`--${f.name}`);
      if (f.char) valueFlags.add(`-${f.char}`);
    }
  }
  out.push(`set -g ${fn}_value_flags ${[...valueFlags].sort().join(' ')}`);
  out.push(`complete -c ${bin} -f`);
  // Command words: every prefix of every command is offered after its parent words.
  const offered = new Set<string>();
  const sorted = [...commands].sort((a, b) => (a.words.join(' ') < b.words.join(' ') ? -1 : 1));
  for (const c of sorted) {
    for (const [i, word] of c.words.entries()) {
      const key = c.words.slice(0, i + 1).join(' ');
      if (offered.has(key)) continue;
      offered.add(key);
      const parent = c.words.slice(0, i).join(' ');
      const desc = short(i === c.words.length - 1 ? c.summary : topics[key]);
      out.push(`complete -c ${bin} -n ${quote(`${fn}_at ${parent}`.trimEnd())} -a ${quote(word)}${desc ? ` -d ${quote(desc)}` : ''}`);
    }
  }
  for (const c of sorted) {
    const cond = quote(`${fn}_in ${c.words.join(' ')}`);
    for (const f of [...c.flags].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      let line = `complete -c ${bin} -n ${cond} -l ${f.name}`;
      if (f.char) line += ` -s ${f.char}`;
      if (f.takesValue) line += f.options?.length ? ` -x -a ${quote(f.options.join(' '))}` : ' -r -F';
      if (f.summary) line += ` -d ${quote(short(f.summary))}`;
      out.push(line);
    }
  }
  return out.join('\n') + '\n';
}
