import {expect} from 'chai';
import {regexpCompile} from '../../../src/core/go/regexp.js';

describe('go/regexp: Go RE2 → JS translation (regexpCompile)', () => {
  const matches = (re: string, s: string) => regexpCompile(`^${re}$`).test(s);

  it('(?i) over the whole expression', () => {
    expect(matches('(?i)abc', 'AbC')).to.equal(true);
    expect(matches('(?i)[a-c]+', 'ABCabc')).to.equal(true);
    expect(regexpCompile('^(?i)abc$').flags).to.contain('i');
  });

  it('(?i) on part of the expression only', () => {
    expect(matches('ab(?i)cd', 'abCD')).to.equal(true);
    expect(matches('ab(?i)cd', 'ABcd')).to.equal(false);
    expect(matches('(?i:ab)cd', 'ABcd')).to.equal(true);
    expect(matches('(?i:ab)cd', 'abCD')).to.equal(false);
    expect(matches('x(?i)[a-c]', 'xB')).to.equal(true);
    expect(matches('x(?i)[^a-c]', 'xB')).to.equal(false);
    expect(matches('(x(?i)y)z', 'xYz')).to.equal(true);
    expect(matches('(x(?i)y)z', 'xYZ')).to.equal(false);
  });

  it('(?s) lets . match a newline; without it . does not', () => {
    expect(matches('a.b', 'a\nb')).to.equal(false);
    expect(matches('a.b', 'a\rb')).to.equal(true); // Go's . only excludes \n
    expect(matches('(?s)a.b', 'a\nb')).to.equal(true);
    expect(matches('(?is)A.B', 'a\nb')).to.equal(true);
    expect(matches('(?si)A.B', 'a\nb')).to.equal(true);
  });

  it('(?m) makes $ and ^ line anchors', () => {
    expect(matches('(?m)a', 'a\nb')).to.equal(true); // ^ stays outside the flag, $ sees the \n
    expect(matches('a', 'a\nb')).to.equal(false);
    expect(regexpCompile('(?m)^b$').test('a\nb\nc')).to.equal(true);
    expect(regexpCompile('(?m)^b$').test('a\nbc')).to.equal(false);
    expect(regexpCompile('^b$').test('a\nb')).to.equal(false);
  });

  it('negated flags and flag groups end with their group', () => {
    expect(matches('(?i)a(?-i)b', 'Ab')).to.equal(true);
    expect(matches('(?i)a(?-i)b', 'AB')).to.equal(false);
    expect(matches('(?i)(?-i:a)b', 'aB')).to.equal(true);
    expect(matches('(?i)(?-i:a)b', 'AB')).to.equal(false);
  });

  it('(?U) swaps greediness', () => {
    expect(regexpCompile('(?U)a+').exec('aaa')![0]).to.equal('a');
    expect(regexpCompile('(?U)a+?').exec('aaa')![0]).to.equal('aaa');
  });

  it('\\A and \\z are text anchors', () => {
    expect(regexpCompile('\\Afoo\\z').test('foo')).to.equal(true);
    expect(regexpCompile('\\Afoo\\z').test('foo\n')).to.equal(false);
    expect(regexpCompile('(?m)\\Afoo\\z').test('x\nfoo')).to.equal(false);
  });

  it('Perl, POSIX and Unicode classes', () => {
    expect(matches('\\d+\\s\\w+', '42 ab_c')).to.equal(true);
    expect(matches('\\s', '\u00a0')).to.equal(false); // Go's \s is ASCII only
    expect(matches('\\s', '\v')).to.equal(false);
    expect(matches('\\S', 'é')).to.equal(true);
    expect(matches('[\\S]', '\t')).to.equal(false);
    expect(matches('[[:alpha:]]+', 'abcXYZ')).to.equal(true);
    expect(matches('[[:alpha:]]+', 'ab1')).to.equal(false);
    expect(matches('[[:^digit:]]+', 'ab')).to.equal(true);
    expect(matches('[[:^digit:]]+', 'a1')).to.equal(false);
    expect(matches('\\pL+', 'héllo')).to.equal(true);
    expect(matches('\\p{Greek}+', 'αβγ')).to.equal(true);
    expect(matches('\\P{Greek}', 'α')).to.equal(false);
    expect(matches('\\p{^Greek}', 'a')).to.equal(true);
  });

  it('escapes, literals and repeats', () => {
    expect(matches('\\x41\\x{1F600}', 'A😀')).to.equal(true);
    expect(matches('\\052\\0', '*\0')).to.equal(true);
    expect(matches('\\Q.*+\\E', '.*+')).to.equal(true);
    expect(matches('\\Q.*+\\E', 'abc')).to.equal(false);
    expect(matches('a\\.b\\-c\\ d', 'a.b-c d')).to.equal(true);
    expect(matches('a{2,3}', 'aaa')).to.equal(true);
    expect(matches('a{2,3}', 'aaaa')).to.equal(false);
    expect(matches('a{2,}', 'aaaa')).to.equal(true);
    expect(matches('a{,2}', 'a{,2}')).to.equal(true); // not a repeat: literal
    expect(matches('a{', 'a{')).to.equal(true);
    expect(matches('[]a]+', ']a]')).to.equal(true);
    expect(matches('[^]a]', 'b')).to.equal(true);
    expect(matches('[a-]+', 'a-')).to.equal(true);
    expect(matches('(?P<x>a)(?<y>b)(?:c)', 'abc')).to.equal(true);
    expect(matches('.', '😀')).to.equal(true); // a code point, not a UTF-16 unit
  });

  it('rejects what Go rejects', () => {
    for (const bad of [
      '(?=a)',
      '(?!a)',
      '(?<=a)b',
      '\\1',
      'a**',
      'a+*',
      '(a',
      'a)',
      '[a',
      '[]',
      '\\q',
      '\\Z',
      'a{1001}',
      'a{3,2}',
      '(?-)',
      '(?i-)',
      '(?x)',
      '[z-a]',
      '[[:foo:]]',
      '[\\b]',
      '\\p{NoSuchScript}',
      '(?P=x)',
    ]) {
      expect(() => regexpCompile(`^${bad}$`), bad).to.throw(SyntaxError);
    }
    // a repetition needs an argument; Go's own ^ wrap provides one (/*a/ is valid in Go)
    for (const bad of ['*a', '{2}', '(*)', 'a|*', '(?i)*', 'a\\']) expect(() => regexpCompile(bad), bad).to.throw(SyntaxError);
    expect(regexpCompile('^*a$').test('a')).to.equal(true);
  });
});
