import {expect} from 'chai';
import {evaluateFirewall, FirewallRuleError, parseFirewallRules, type FirewallMessage} from '../../../src/core/netceptor/firewall.js';

const msg = (fromNode: string, toNode: string, fromService = 'x', toService = 'y'): FirewallMessage => ({
  fromNode,
  toNode,
  fromService,
  toService,
});

function errorOf(list: unknown[]): FirewallRuleError {
  try {
    parseFirewallRules(list);
  } catch (e) {
    expect(e).to.be.instanceOf(FirewallRuleError);
    return e as FirewallRuleError;
  }
  throw new Error('expected a FirewallRuleError');
}

describe('netceptor firewall rules', () => {
  describe('parsing errors (config.md §5.1.1)', () => {
    it('unknown action', () => {
      expect(errorOf([{action: 'bogus'}]).message).to.equal('error in rule 0: unknown action: bogus');
    });

    it('unknown key (with Go’s “filewall” typo, key as written)', () => {
      expect(errorOf([{action: 'accept', color: 'red'}]).message).to.equal('error in rule 0: invalid filewall rule. unknown key: color');
      expect(errorOf([{action: 'accept', Color: 'red'}]).message).to.equal('error in rule 0: invalid filewall rule. unknown key: Color');
    });

    it('non-string value', () => {
      expect(errorOf([{action: 'accept', tonode: 5}]).message).to.equal('error in rule 0: invalid firewall rule. tonode must be a string');
      expect(errorOf([{action: true}]).message).to.equal('error in rule 0: invalid firewall rule. action must be a string');
      expect(errorOf([{action: 'drop', FromService: null}]).message).to.equal('error in rule 0: invalid firewall rule. FromService must be a string');
      // the type check comes before the key check
      expect(errorOf([{action: 'drop', color: 1}]).message).to.equal('error in rule 0: invalid firewall rule. color must be a string');
    });

    it('a missing action is an empty unknown action', () => {
      expect(errorOf([{fromnode: 'a'}]).message).to.equal('error in rule 0: unknown action: ');
      expect(errorOf([null]).message).to.equal('error in rule 0: unknown action: ');
      expect(errorOf([{}]).message).to.equal('error in rule 0: unknown action: ');
    });

    it('key errors are reported before the action error', () => {
      expect(errorOf([{action: 'bogus', color: 'red'}]).message).to.equal('error in rule 0: invalid filewall rule. unknown key: color');
    });

    it('a rule that is not a map', () => {
      for (const bad of ['accept', 3, ['action', 'accept']]) {
        expect(errorOf([bad]).message).to.equal('error in rule 0: invalid firewall rule. see documentation for syntax');
      }
    });

    it('numbers rules from 0 and stops at the first bad one', () => {
      const e = errorOf([{action: 'accept'}, {action: 'drop'}, {action: 'nope'}, {color: 1}]);
      expect(e.message).to.equal('error in rule 2: unknown action: nope');
      expect(e.index).to.equal(2);
      expect(e.reason).to.equal('unknown action: nope');
    });
  });

  describe('parsing', () => {
    it('accepts keys and actions in any case', () => {
      const rules = parseFirewallRules([{Action: 'ACCEPT', FromNode: 'a', TONODE: 'b', fromService: 'c', ToService: 'd'}, {ACTION: 'Reject'}, {action: 'dRoP'}]);
      expect(rules.map((r) => r.action)).to.deep.equal(['accept', 'reject', 'drop']);
      expect(rules[0].conditions.map((c) => [c.field, c.value])).to.deep.equal([
        ['fromnode', 'a'],
        ['tonode', 'b'],
        ['fromservice', 'c'],
        ['toservice', 'd'],
      ]);
      expect(rules[1].conditions).to.deep.equal([]);
    });

    it('an empty list is fine', () => {
      expect(parseFirewallRules([])).to.deep.equal([]);
    });

    it('precompiles regexes at parse time', () => {
      const [rule] = parseFirewallRules([{action: 'drop', tonode: '/edge-.*/'}]);
      expect(rule.conditions[0].regex).to.be.instanceOf(RegExp);
    });

    it('an empty value adds no condition (Go skips it)', () => {
      const [rule] = parseFirewallRules([{action: 'drop', fromnode: '', tonode: 'b'}]);
      expect(rule.conditions.map((c) => c.field)).to.deep.equal(['tonode']);
    });

    it('records the conditions it ignores, with Go’s reason', () => {
      const [rule] = parseFirewallRules([{action: 'reject', fromnode: '/unterminated', tonode: '/(/', toservice: 'control'}]);
      expect(rule.conditions.map((c) => c.field)).to.deep.equal(['toservice']);
      expect(rule.ignored.map((i) => [i.field, i.value])).to.deep.equal([
        ['fromnode', '/unterminated'],
        ['tonode', '/(/'],
      ]);
      expect(rule.ignored[0].reason).to.equal('regex not enclosed in //');
      expect(rule.ignored[1].reason).to.match(/^regex failed to compile: /);
    });
  });

  describe('evaluation (§10)', () => {
    it('no rules accepts', () => {
      expect(evaluateFirewall([], msg('a', 'b'))).to.equal('accept');
    });

    it('no matching rule accepts', () => {
      const rules = parseFirewallRules([{action: 'drop', fromnode: 'z'}]);
      expect(evaluateFirewall(rules, msg('a', 'b'))).to.equal('accept');
    });

    it('the first matching rule decides', () => {
      const rules = parseFirewallRules([{action: 'accept', fromnode: 'a', toservice: 'ok'}, {action: 'reject', fromnode: 'a'}, {action: 'drop'}]);
      expect(evaluateFirewall(rules, msg('a', 'b', 'x', 'ok'))).to.equal('accept');
      expect(evaluateFirewall(rules, msg('a', 'b', 'x', 'other'))).to.equal('reject');
      expect(evaluateFirewall(rules, msg('c', 'b'))).to.equal('drop');
    });

    it('all present fields must match, each against its own field', () => {
      const rules = parseFirewallRules([{action: 'drop', fromnode: 'foo', tonode: 'bar', fromservice: 'fs', toservice: 'control'}]);
      expect(evaluateFirewall(rules, msg('foo', 'bar', 'fs', 'control'))).to.equal('drop');
      expect(evaluateFirewall(rules, msg('bar', 'foo', 'fs', 'control'))).to.equal('accept');
      expect(evaluateFirewall(rules, msg('foo', 'bar', 'control', 'fs'))).to.equal('accept');
      expect(evaluateFirewall(rules, msg('foo', 'bar', 'fs', 'other'))).to.equal('accept');
    });

    it('plain values are exact and case-sensitive', () => {
      const rules = parseFirewallRules([{action: 'reject', tonode: 'Bar'}]);
      expect(evaluateFirewall(rules, msg('a', 'Bar'))).to.equal('reject');
      expect(evaluateFirewall(rules, msg('a', 'bar'))).to.equal('accept');
      expect(evaluateFirewall(rules, msg('a', 'Barn'))).to.equal('accept');
      expect(evaluateFirewall(rules, msg('a', 'xBar'))).to.equal('accept');
      // regex metacharacters in a plain value are literal
      const dots = parseFirewallRules([{action: 'reject', tonode: 'a.b'}]);
      expect(evaluateFirewall(dots, msg('x', 'axb'))).to.equal('accept');
      expect(evaluateFirewall(dots, msg('x', 'a.b'))).to.equal('reject');
    });

    it('regexes match the whole field (live experiment: /raw[x-z]/, /(?i)CTL.*/)', () => {
      const rules = parseFirewallRules([
        {action: 'reject', toservice: '/raw[x-z]/'},
        {action: 'reject', toservice: '/(?i)CTL.*/'},
      ]);
      expect(evaluateFirewall(rules, msg('a', 'b', 'x', 'rawx'))).to.equal('reject');
      expect(evaluateFirewall(rules, msg('a', 'b', 'x', 'rawz'))).to.equal('reject');
      expect(evaluateFirewall(rules, msg('a', 'b', 'x', 'rawa'))).to.equal('accept');
      expect(evaluateFirewall(rules, msg('a', 'b', 'x', 'xrawx'))).to.equal('accept');
      expect(evaluateFirewall(rules, msg('a', 'b', 'x', 'rawxx'))).to.equal('accept');
      expect(evaluateFirewall(rules, msg('a', 'b', 'x', 'xctl'))).to.equal('accept');
      expect(evaluateFirewall(rules, msg('a', 'b', 'x', 'CtlAbc'))).to.equal('reject');
      expect(evaluateFirewall(rules, msg('a', 'b', 'x', 'ctl'))).to.equal('reject');
    });

    it('an invalid /…/ value is ignored and the rule matches on its other fields', () => {
      const rules = parseFirewallRules([{action: 'reject', fromnode: '/unterminated', toservice: 'control'}]);
      expect(evaluateFirewall(rules, msg('anyone', 'b', 'x', 'control'))).to.equal('reject');
      expect(evaluateFirewall(rules, msg('anyone', 'b', 'x', 'other'))).to.equal('accept');
      const bad = parseFirewallRules([
        {action: 'drop', tonode: '/a(b/'},
        {action: 'drop', tonode: '/(?=x)/'},
      ]);
      expect(evaluateFirewall(bad, msg('q', 'r'))).to.equal('drop');
    });

    it('a rule whose only condition was ignored matches everything', () => {
      const rules = parseFirewallRules([{action: 'drop', tonode: '/x'}]);
      expect(evaluateFirewall(rules, msg('a', 'b'))).to.equal('drop');
    });

    it('“/” and “//” are the empty regex (only an empty field matches)', () => {
      for (const v of ['/', '//']) {
        const rules = parseFirewallRules([{action: 'drop', fromservice: v}]);
        expect(evaluateFirewall(rules, msg('a', 'b', '', 'y'))).to.equal('drop');
        expect(evaluateFirewall(rules, msg('a', 'b', 'x', 'y'))).to.equal('accept');
      }
    });

    it('a value ending but not starting with / is a plain string', () => {
      const rules = parseFirewallRules([{action: 'drop', tonode: 'a/'}]);
      expect(evaluateFirewall(rules, msg('x', 'a/'))).to.equal('drop');
    });

    it('anchoring is Go’s literal ^…$ wrap, so a top-level | is only half anchored', () => {
      const rules = parseFirewallRules([{action: 'drop', tonode: '/a|b/'}]);
      expect(evaluateFirewall(rules, msg('x', 'a'))).to.equal('drop');
      expect(evaluateFirewall(rules, msg('x', 'abc'))).to.equal('drop');
      expect(evaluateFirewall(rules, msg('x', 'cb'))).to.equal('drop');
      expect(evaluateFirewall(rules, msg('x', 'cbc'))).to.equal('accept');
      const grouped = parseFirewallRules([{action: 'drop', tonode: '/(a|b)/'}]);
      expect(evaluateFirewall(grouped, msg('x', 'abc'))).to.equal('accept');
    });

    it('the documented example: reject control traffic to edge-* nodes', () => {
      const rules = parseFirewallRules([{action: 'reject', tonode: '/edge-.*/', toservice: 'control'}]);
      expect(evaluateFirewall(rules, msg('a', 'edge-7', 'q', 'control'))).to.equal('reject');
      expect(evaluateFirewall(rules, msg('a', 'core-1', 'q', 'control'))).to.equal('accept');
      expect(evaluateFirewall(rules, msg('a', 'edge-7', 'q', 'ping'))).to.equal('accept');
    });
  });
});
