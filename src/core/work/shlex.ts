/**
 * Shell-like word splitting with the rules of github.com/google/shlex (the version Go
 * receptor vendors), used by the command runner to split `params` (workceptor.md §7.1).
 *
 * Rules, as that lexer applies them:
 *  - Space, tab, CR and LF separate words.
 *  - `'…'` is literal; `"…"` is literal except that a backslash makes the next character
 *    literal (any character — not only the POSIX set — and the backslash is dropped).
 *  - Outside quotes a backslash makes the next character literal.
 *  - Quotes and escapes may be glued to other text: `a"b c"d` is the single word `ab cd`.
 *  - `#` at the start of a word begins a comment that runs to the next LF; inside a word it
 *    is an ordinary character (`a#b` is one word).
 *  - `''` and `""` give an empty word. No variable expansion, no globbing.
 * Every other character, ASCII or not, is a word character.
 *
 * Errors carry google/shlex's texts: `EOF found when expecting closing quote`,
 * `EOF found after escape character`.
 */

import {ShlexError} from '../errors.js';
export {ShlexError};

const enum State {
  Start,
  InWord,
  Escaping,
  EscapingQuoted,
  QuotingEscaping,
  Quoting,
  Comment,
}

function isSpace(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\r' || c === '\n';
}

/** Splits `s` into words (see the module comment). Throws ShlexError on malformed input. */
export function shlexSplit(s: string): string[] {
  const words: string[] = [];
  let state = State.Start;
  let word = '';
  let isComment = false;

  const finish = (): void => {
    if (!isComment) words.push(word);
    word = '';
    isComment = false;
    state = State.Start;
  };

  for (const c of s) {
    switch (state) {
      case State.Start:
        if (isSpace(c)) break;
        if (c === '"') state = State.QuotingEscaping;
        else if (c === "'") state = State.Quoting;
        else if (c === '\\') state = State.Escaping;
        else if (c === '#') {
          isComment = true;
          state = State.Comment;
        } else {
          word = c;
          state = State.InWord;
        }
        break;
      case State.InWord:
        if (isSpace(c)) finish();
        else if (c === '"') state = State.QuotingEscaping;
        else if (c === "'") state = State.Quoting;
        else if (c === '\\') state = State.Escaping;
        else word += c;
        break;
      case State.Escaping:
        word += c;
        state = State.InWord;
        break;
      case State.EscapingQuoted:
        word += c;
        state = State.QuotingEscaping;
        break;
      case State.QuotingEscaping:
        if (c === '"') state = State.InWord;
        else if (c === '\\') state = State.EscapingQuoted;
        else word += c;
        break;
      case State.Quoting:
        if (c === "'") state = State.InWord;
        else word += c;
        break;
      case State.Comment:
        if (c === '\n') finish();
        break;
    }
  }

  switch (state) {
    case State.Start:
      break;
    case State.Escaping:
    case State.EscapingQuoted:
      throw new ShlexError('EOF found after escape character');
    case State.QuotingEscaping:
    case State.Quoting:
      throw new ShlexError('EOF found when expecting closing quote');
    default:
      finish();
  }
  return words;
}
