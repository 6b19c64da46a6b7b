/** google/shlex word splitting, as the command runner applies it to `params` (workceptor.md §7.1). */
import {expect} from 'chai';
import {shlexSplit, ShlexError} from '../../../src/core/work/shlex.js';

describe('work: shlexSplit (google/shlex rules)', () => {
  const cases: Array<[string, string[]]> = [
    ['', []],
    ['   \t\r\n ', []],
    ['one two three', ['one', 'two', 'three']],
    ['30 1', ['30', '1']],
    ['  lead  and\ttrail\n', ['lead', 'and', 'trail']],
    // google/shlex's own tokenizer example
    ['one two "three four" "five \\"six\\"" seven#eight # nine # ten\n eleven', ['one', 'two', 'three four', 'five "six"', 'seven#eight', 'eleven']],
    // single quotes are literal, backslash included
    ["'a b' 'c\\d' '\"'", ['a b', 'c\\d', '"']],
    // double quotes: a backslash escapes any character and is dropped
    ['"a\\\\b" "\\$HOME" "x\\ny" "\\`"', ['a\\b', '$HOME', 'xny', '`']],
    ['"it\'s"', ["it's"]],
    // escapes outside quotes
    ['a\\ b c\\\\d \\\'e \\"f', ['a b', 'c\\d', "'e", '"f']],
    ['\\#notcomment x', ['#notcomment', 'x']],
    // quotes glue to the surrounding word
    ['a"b c"d e\'f g\'h', ['ab cd', 'ef gh']],
    // empty quotes make empty words
    ['a \'\' "" b', ['a', '', '', 'b']],
    // a comment starts only at the beginning of a word and ends at LF
    ['a #b c\nd', ['a', 'd']],
    ['#all comment', []],
    ['a#b', ['a#b']],
    ['x # comment \r with CR\ny', ['x', 'y']],
    // no expansion or globbing; any other character is a word character
    ['$HOME * ~ {a,b} a=b --opt=1 /tmp/x:y', ['$HOME', '*', '~', '{a,b}', 'a=b', '--opt=1', '/tmp/x:y']],
    ['héllo wörld 日本', ['héllo', 'wörld', '日本']],
    ['"multi\nline"', ['multi\nline']],
  ];
  for (const [input, want] of cases) {
    it(`splits ${JSON.stringify(input)}`, () => {
      expect(shlexSplit(input)).to.deep.equal(want);
    });
  }

  const errors: Array<[string, string]> = [
    ['"open', 'EOF found when expecting closing quote'],
    ["a 'open", 'EOF found when expecting closing quote'],
    ['"a\\"', 'EOF found when expecting closing quote'],
    ['trailing\\', 'EOF found after escape character'],
    ['\\', 'EOF found after escape character'],
    ['"esc\\', 'EOF found after escape character'],
  ];
  for (const [input, msg] of errors) {
    it(`fails on ${JSON.stringify(input)} with "${msg}"`, () => {
      expect(() => shlexSplit(input)).to.throw(ShlexError, msg);
      try {
        shlexSplit(input);
      } catch (err) {
        expect((err as Error).message).to.equal(msg);
      }
    });
  }
});
