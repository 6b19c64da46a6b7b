/** The human-readable report of `receptor status`: the reply's shape, a wrapping table renderer. */

/** The reply of the `status` control command (control-service.md §4.1). */
export interface StatusReply {
  NodeID?: string;
  Version?: string;
  SystemCPUCount?: number;
  SystemMemoryMiB?: number;
  Connections?: Array<{NodeID: string; Cost: number}> | null;
  RoutingTable?: Record<string, string> | null;
  KnownConnectionCosts?: Record<string, Record<string, number> | null> | null;
  Advertisements?: Array<{
    NodeID: string;
    Service: string;
    Time?: string;
    ConnType?: number;
    Tags?: Record<string, unknown> | null;
    WorkCommands?: Array<{WorkType: string; Secure?: boolean}> | null;
  }> | null;
  [key: string]: unknown;
}

const WIDTH = 80;

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export const CONN_TYPES: Record<number, string> = {0: 'Datagram', 1: 'Stream', 2: 'StreamTLS'};

export function connTypeName(t: unknown): string {
  return (typeof t === 'number' && CONN_TYPES[t]) || `Unknown (${String(t)})`;
}

/** An RFC 3339 time as `YYYY-MM-DD HH:MM:SS` UTC (the raw text when it does not parse). */
export function formatTime(t: unknown): string {
  if (typeof t !== 'string') return '-';
  const ms = Date.parse(t);
  if (Number.isNaN(ms)) return t;
  const iso = new Date(ms).toISOString();
  return iso.length === 24 ? iso.slice(0, 19).replace('T', ' ') : t;
}

function text(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

/** Splits `value` into lines of at most `width` characters, preferring breaks after ", " or " ". */
export function wrapText(value: string, width: number): string[] {
  if (width < 1 || value.length <= width) return [value];
  const lines: string[] = [];
  let rest = value;
  while (rest.length > width) {
    let cut = rest.lastIndexOf(', ', width - 1);
    if (cut > 0) cut += 2;
    else {
      cut = rest.lastIndexOf(' ', width);
      cut = cut > 0 ? cut + 1 : width;
    }
    lines.push(rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut);
  }
  if (rest.length > 0) lines.push(rest);
  return lines;
}

/**
 * A left-aligned table with two spaces between columns, indented by `indent`. The last column
 * wraps (continuation lines aligned under it) so rows fit in `width` columns when possible.
 */
export function renderTable(headers: string[], rows: string[][], indent = '  ', width = WIDTH): string[] {
  const n = headers.length;
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const prefix = indent.length + widths.slice(0, n - 1).reduce((a, w) => a + w + 2, 0);
  const lastWidth = width - prefix >= 20 ? width - prefix : Number.MAX_SAFE_INTEGER;
  const out: string[] = [];
  for (const r of [headers, ...rows]) {
    const head = r
      .slice(0, n - 1)
      .map((c, i) => (c ?? '').padEnd(widths[i] ?? 0))
      .join('  ');
    const last = wrapText(r[n - 1] ?? '', lastWidth);
    const sep = n > 1 ? '  ' : '';
    out.push((indent + head + sep + last[0]).trimEnd());
    for (const cont of last.slice(1)) out.push(' '.repeat(prefix) + cont);
  }
  return out;
}

/** The human-readable report (stable order: everything sorted by node / service name). */
export function formatStatus(reply: StatusReply, width = WIDTH): string[] {
  const rest: Record<string, unknown> = {...reply};
  const take = (k: string) => {
    const v = rest[k];
    delete rest[k];
    return v;
  };
  const out: string[] = [];
  const nodeId = take('NodeID');
  const version = take('Version');
  const cpus = take('SystemCPUCount');
  const mem = take('SystemMemoryMiB');
  out.push(`Node ID:            ${text(nodeId)}`);
  out.push(`Version:            ${version === '' ? '(unknown)' : text(version)}`);
  out.push(`System CPU count:   ${text(cpus)}`);
  out.push(`System memory:      ${mem === undefined || mem === null ? '-' : `${text(mem)} MiB`}`);

  const section = (title: string, count: number, lines: string[]) => {
    out.push('');
    out.push(count === 0 ? `${title}: none` : `${title} (${count})`);
    if (count > 0) out.push(...lines);
  };

  const conns = ((take('Connections') as StatusReply['Connections']) ?? []).slice().sort((a, b) => byText(String(a.NodeID), String(b.NodeID)));
  section(
    'Connections',
    conns.length,
    renderTable(
      ['Node', 'Cost'],
      conns.map((c) => [text(c.NodeID), text(c.Cost)]),
      '  ',
      width,
    ),
  );

  const routes = Object.entries((take('RoutingTable') as StatusReply['RoutingTable']) ?? {}).sort(([a], [b]) => byText(a, b));
  section(
    'Routing table',
    routes.length,
    renderTable(
      ['Destination', 'Next hop'],
      routes.map(([d, via]) => [d, text(via)]),
      '  ',
      width,
    ),
  );

  const costs = Object.entries((take('KnownConnectionCosts') as StatusReply['KnownConnectionCosts']) ?? {}).sort(([a], [b]) => byText(a, b));
  section(
    'Known connection costs',
    costs.length,
    renderTable(
      ['Node', 'Connections (peer: cost)'],
      costs.map(([node, peers]) => [
        node,
        Object.entries(peers ?? {})
          .sort(([a], [b]) => byText(a, b))
          .map(([p, c]) => `${p}: ${text(c)}`)
          .join(', ') || '-',
      ]),
      '  ',
      width,
    ),
  );

  const ads = ((take('Advertisements') as StatusReply['Advertisements']) ?? [])
    .slice()
    .sort((a, b) => byText(String(a.NodeID), String(b.NodeID)) || byText(String(a.Service), String(b.Service)));
  const tags = (t: Record<string, unknown> | null | undefined) => {
    const entries = Object.entries(t ?? {}).sort(([a], [b]) => byText(a, b));
    return entries.length === 0 ? '-' : entries.map(([k, v]) => `${k}=${text(v)}`).join(', ');
  };
  section(
    'Services',
    ads.length,
    renderTable(
      ['Node', 'Service', 'Type', 'Last seen (UTC)', 'Tags'],
      ads.map((a) => [text(a.NodeID), text(a.Service), connTypeName(a.ConnType), formatTime(a.Time), tags(a.Tags)]),
      '  ',
      width,
    ),
  );

  // Work types per node: the union over the node's advertisements.
  const work = new Map<string, {plain: Set<string>; secure: Set<string>}>();
  for (const a of ads) {
    for (const wc of a.WorkCommands ?? []) {
      const node = text(a.NodeID);
      let e = work.get(node);
      if (!e) work.set(node, (e = {plain: new Set(), secure: new Set()}));
      (wc.Secure ? e.secure : e.plain).add(text(wc.WorkType));
    }
  }
  const workNodes = [...work.keys()].sort(byText);
  const anySecure = workNodes.some((n) => work.get(n)!.secure.size > 0);
  const list = (s: Set<string>) => [...s].sort(byText).join(', ') || '-';
  section(
    'Work types',
    workNodes.length,
    renderTable(
      anySecure ? ['Node', 'Work types', 'Secure work types'] : ['Node', 'Work types'],
      workNodes.map((n) => (anySecure ? [n, list(work.get(n)!.plain), list(work.get(n)!.secure)] : [n, list(work.get(n)!.plain)])),
      '  ',
      width,
    ),
  );

  if (Object.keys(rest).length > 0) {
    out.push('');
    out.push('Additional data returned by the node:');
    out.push(...JSON.stringify(rest, null, 2).split('\n'));
  }
  return out;
}
