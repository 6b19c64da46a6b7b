/** The small subset of field and label selectors clients send for pods: `k=v`, `k==v`, `k!=v`, `k`, `!k`. */

interface Term {
  key: string;
  op: '=' | '!=' | 'exists' | '!exists';
  value: string;
}

function parse(sel: string): Term[] {
  const terms: Term[] = [];
  for (const raw of sel.split(',')) {
    const t = raw.trim();
    if (t === '') continue;
    let m = /^([^=!\s]+)\s*(==|=|!=)\s*(.*)$/.exec(t);
    if (m) {
      terms.push({key: m[1], op: m[2] === '!=' ? '!=' : '=', value: m[3]});
      continue;
    }
    m = /^(!?)([^=!\s]+)$/.exec(t);
    if (!m) throw new Error(`unable to parse requirement: ${t}`);
    terms.push({key: m[2], op: m[1] ? '!exists' : 'exists', value: ''});
  }
  return terms;
}

export type Matcher = (get: (key: string) => string | undefined) => boolean;

/** Throws Error with a kube-like text on a selector it cannot parse. */
export function compileSelector(sel: string | null): Matcher {
  if (!sel) return () => true;
  const terms = parse(sel);
  return (get) =>
    terms.every((t) => {
      const v = get(t.key);
      switch (t.op) {
        case '=':
          return v === t.value;
        case '!=':
          return v !== t.value;
        case 'exists':
          return v !== undefined;
        case '!exists':
          return v === undefined;
      }
    });
}

/** Pod fields the apiserver accepts in field selectors. */
export const POD_FIELDS = new Set([
  'metadata.name',
  'metadata.namespace',
  'spec.nodeName',
  'spec.restartPolicy',
  'spec.schedulerName',
  'spec.serviceAccountName',
  'status.phase',
  'status.podIP',
  'status.nominatedNodeName',
]);

export function checkFieldSelector(sel: string | null): void {
  if (!sel) return;
  for (const t of parse(sel)) {
    if (!POD_FIELDS.has(t.key)) throw new Error(`"${t.key}" is not a known field selector: only "${[...POD_FIELDS].join('", "')}"`);
    if (t.op === 'exists' || t.op === '!exists') throw new Error(`invalid selector: '${sel}'; can't understand '${t.key}'`);
  }
}
