/**
 * Control-socket addresses as `receptorctl --socket` understands them (control-service.md §8.1):
 *
 *   (tcp|tls):(//)?HOST:PORT      HOST from [a-zA-Z0-9-.:] (so a bare IPv6 literal works: tcp://::1:2222)
 *   (unix:(//)?)?PATH             PATH without any ':'; a leading ~ is expanded
 *
 * The whole string must match. As an extension, a bracketed IPv6 host (`tcp://[::1]:2222`) is
 * also accepted. The `RECEPTORCTL_SOCKET` fallback is the caller's business.
 */
import {homedir} from 'node:os';
import {ReceptorError} from '../errors.js';
import {settings} from '../settings.js';

export type ControlAddress = {kind: 'unix'; path: string} | {kind: 'tcp' | 'tls'; host: string; port: number};

const NETWORK_RE = /^(tcp|tls):(?:\/\/)?([a-zA-Z0-9\-.:]+):([0-9]+)$/;
const NETWORK_BRACKETED_RE = /^(tcp|tls):(?:\/\/)?\[([0-9a-fA-F:.]+)\]:([0-9]+)$/;
const UNIX_RE = /^(?:unix:(?:\/\/)?)?([^:]+)$/;

export interface ParseAddressOptions {
  /** Home directory for `~` expansion (default: $HOME, else os.homedir()). */
  home?: string;
}

/** Parses a control-socket address; throws ReceptorError E_USAGE `Invalid socket address <addr>`. */
export function parseControlAddress(address: string, opts: ParseAddressOptions = {}): ControlAddress {
  const net = NETWORK_RE.exec(address) ?? NETWORK_BRACKETED_RE.exec(address);
  if (net) {
    const port = Number(net[3]);
    if (!Number.isSafeInteger(port) || port < 1 || port > 65535) {
      throw new ReceptorError('E_USAGE', `Invalid socket address ${address} (port must be 1-65535)`);
    }
    return {kind: net[1] as 'tcp' | 'tls', host: net[2]!, port}; // a group the patterns require
  }
  const unix = UNIX_RE.exec(address);
  if (unix) return {kind: 'unix', path: expandHome(unix[1]!, opts.home)};
  throw new ReceptorError('E_USAGE', `Invalid socket address ${address}`);
}

/** Python's os.path.expanduser for `~` and `~/…` (a `~user` prefix is left alone). */
export function expandHome(path: string, home?: string): string {
  if (path !== '~' && !path.startsWith('~/')) return path;
  const h = home ?? (settings().home || homedir());
  if (path === '~') return h;
  return (h.endsWith('/') ? h.slice(0, -1) : h) + path.slice(1);
}

/** A canonical spelling of an address (for messages). */
export function formatControlAddress(a: ControlAddress): string {
  if (a.kind === 'unix') return `unix:${a.path}`;
  const host = a.host.includes(':') ? `[${a.host}]` : a.host;
  return `${a.kind}://${host}:${a.port}`;
}
