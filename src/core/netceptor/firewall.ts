/**
 * Mesh firewall rules (netceptor-wire.md §10, config.md §5.1.1): parsing of
 * `node.firewallrules` with Go's error texts and evaluation against a data message;
 * `/regex/` match values are Go RE2 syntax, compiled by core/go/regexp.ts.
 */
import {regexpCompile} from '../go/regexp.js';
import {ReceptorError} from '../errors.js';

export type FirewallAction = 'accept' | 'reject' | 'drop';
export type FirewallField = 'fromnode' | 'tonode' | 'fromservice' | 'toservice';

/** The addressing of a data message, as the firewall sees it. */
export interface FirewallMessage {
  fromNode: string;
  toNode: string;
  fromService: string;
  toService: string;
}

export interface FirewallCondition {
  readonly field: FirewallField;
  /** The configured value (`/…/` for a regex). */
  readonly value: string;
  /** Set for regex values; anchored to the whole field. */
  readonly regex?: RegExp;
}

/** A `/…/` value that Go would silently ignore (or that could not be translated). */
export interface IgnoredCondition {
  readonly field: FirewallField;
  readonly value: string;
  readonly reason: string;
}

export interface FirewallRule {
  readonly action: FirewallAction;
  /** All must match for the rule to decide; none = always matches. */
  readonly conditions: readonly FirewallCondition[];
  /** Conditions dropped as Go drops them; callers may log these. */
  readonly ignored: readonly IgnoredCondition[];
}

/** A firewall configuration error; `message` is Go's text, `error in rule <index>: <reason>`. */
export class FirewallRuleError extends ReceptorError {
  constructor(
    readonly index: number,
    readonly reason: string,
  ) {
    super('E_FIREWALL_RULE', `error in rule ${index}: ${reason}`);
    this.name = 'FirewallRuleError';
  }
}

/** Go's condition order (BuildComps). */
const FIELDS: readonly FirewallField[] = ['fromnode', 'tonode', 'fromservice', 'toservice'];
const ACTIONS: ReadonlySet<string> = new Set<FirewallAction>(['accept', 'reject', 'drop']);

/** Parses the configured rule list; throws FirewallRuleError on the first bad rule. */
export function parseFirewallRules(list: readonly unknown[]): FirewallRule[] {
  return list.map((data, i) => {
    try {
      return parseFirewallRule(data);
    } catch (e) {
      throw new FirewallRuleError(i, (e as Error).message);
    }
  });
}

/** Parses one rule map; throws an Error whose message is Go's (unwrapped) reason. */
export function parseFirewallRule(data: unknown): FirewallRule {
  // A YAML `- ~` item is a nil map in Go: no keys, hence an empty action.
  const map = data ?? {};
  if (typeof map !== 'object' || Array.isArray(map)) {
    throw new Error('invalid firewall rule. see documentation for syntax');
  }
  let action = '';
  const values = new Map<FirewallField, string>();
  for (const [key, value] of Object.entries(map)) {
    if (typeof value !== 'string') throw new Error(`invalid firewall rule. ${key} must be a string`);
    const k = key.toLowerCase();
    if (k === 'action') action = value;
    else if ((FIELDS as readonly string[]).includes(k)) values.set(k as FirewallField, value);
    else throw new Error(`invalid filewall rule. unknown key: ${key}`);
  }
  const conditions: FirewallCondition[] = [];
  const ignored: IgnoredCondition[] = [];
  for (const field of FIELDS) {
    const value = values.get(field);
    if (!value) continue; // Go: an empty value adds no condition
    if (!value.startsWith('/')) {
      conditions.push({field, value});
    } else if (!value.endsWith('/')) {
      ignored.push({field, value, reason: 'regex not enclosed in //'});
    } else {
      try {
        conditions.push({field, value, regex: regexpCompile(`^${value.slice(1, -1)}$`)});
      } catch (e) {
        ignored.push({field, value, reason: `regex failed to compile: ${(e as Error).message}`});
      }
    }
  }
  const lower = action.toLowerCase();
  if (!ACTIONS.has(lower)) throw new Error(`unknown action: ${action}`);
  return {action: lower as FirewallAction, conditions, ignored};
}

/** First rule whose conditions all match decides; no match (or no rules) accepts. */
export function evaluateFirewall(rules: readonly FirewallRule[], msg: FirewallMessage): FirewallAction {
  for (const rule of rules) {
    if (rule.conditions.every((c) => conditionMatches(c, msg))) return rule.action;
  }
  return 'accept';
}

function conditionMatches(c: FirewallCondition, msg: FirewallMessage): boolean {
  const subject = fieldOf(c.field, msg);
  return c.regex ? c.regex.test(subject) : subject === c.value;
}

function fieldOf(field: FirewallField, msg: FirewallMessage): string {
  switch (field) {
    case 'fromnode':
      return msg.fromNode;
    case 'tonode':
      return msg.toNode;
    case 'fromservice':
      return msg.fromService;
    case 'toservice':
      return msg.toService;
  }
}
