/**
 * The HTTP-level rules of Go's WebSocket listener and dialer (netceptor-wire.md §2.4),
 * as pure functions: ServeMux path matching, gorilla's same-origin check, and the header
 * handling of `extraheader`.
 */
import {fieldError, ReceptorError} from '../../core/errors.js';

export type PathMatch = {kind: 'match'} | {kind: 'redirect'; location: string} | {kind: 'none'};

/**
 * Go `http.ServeMux` with one registered pattern `pattern`: a pattern ending in `/` matches
 * its whole subtree (so `/` matches everything), any other pattern matches exactly. As in Go,
 * a request for the subtree root without its trailing slash (`/ws` for pattern `/ws/`) is
 * redirected (301) to the slashed path. `target` is the request target (path and query).
 */
export function matchServeMuxPath(pattern: string, target: string): PathMatch {
  const q = target.indexOf('?');
  const path = q >= 0 ? target.slice(0, q) : target;
  const query = q >= 0 ? target.slice(q) : '';
  if (pattern.endsWith('/')) {
    if (path.startsWith(pattern)) return {kind: 'match'};
    if (path + '/' === pattern) return {kind: 'redirect', location: pattern + query};
    return {kind: 'none'};
  }
  return path === pattern ? {kind: 'match'} : {kind: 'none'};
}

/**
 * The host[:port] part of a URL as Go's `url.Parse` reports it (`u.Host`): no
 * normalisation, no default-port removal. Returns undefined where Go's parser fails.
 */
export function goUrlHost(raw: string): string | undefined {
  if (/[\x00-\x1f\x7f]/.test(raw)) return undefined;
  let rest = raw;
  const hash = rest.indexOf('#');
  if (hash >= 0) rest = rest.slice(0, hash);
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(rest);
  if (scheme) rest = rest.slice(scheme[0].length);
  else if (rest.startsWith(':')) return undefined; // missing protocol scheme
  const q = rest.indexOf('?');
  if (q >= 0) rest = rest.slice(0, q);
  if (!rest.startsWith('//')) return '';
  let authority = rest.slice(2);
  const slash = authority.indexOf('/');
  if (slash >= 0) authority = authority.slice(0, slash);
  const at = authority.lastIndexOf('@');
  const host = at >= 0 ? authority.slice(at + 1) : authority;
  // A port, if present, must be digits.
  let portPart: string | undefined;
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    if (end < 0) return undefined;
    const after = host.slice(end + 1);
    if (after !== '' && !after.startsWith(':')) return undefined;
    portPart = after === '' ? undefined : after.slice(1);
  } else {
    const colon = host.lastIndexOf(':');
    portPart = colon >= 0 ? host.slice(colon + 1) : undefined;
  }
  if (portPart !== undefined && !/^\d*$/.test(portPart)) return undefined;
  return host;
}

function asciiLower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/**
 * gorilla/websocket's default CheckOrigin: no Origin header is fine; otherwise the Origin's
 * host[:port] must equal the request's Host header, ASCII case-insensitively.
 */
export function sameOrigin(origin: string | undefined, host: string | undefined): boolean {
  if (origin === undefined) return true;
  const h = goUrlHost(origin);
  if (h === undefined) return false;
  return asciiLower(h) === asciiLower(host ?? '');
}

/** True if the comma-separated header `value` contains `token` (case-insensitive). */
export function headerHasToken(value: string | string[] | undefined, token: string): boolean {
  if (value === undefined) return false;
  const all = Array.isArray(value) ? value.join(',') : value;
  return all.split(',').some((t) => t.trim().toLowerCase() === token.toLowerCase());
}

/** A valid Sec-WebSocket-Key: base64 of 16 bytes. */
export function validWebSocketKey(key: string | undefined): boolean {
  return key !== undefined && /^[A-Za-z0-9+/]{22}==$/.test(key.trim());
}

const TOKEN_CHARS = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Go's textproto.CanonicalMIMEHeaderKey (`x-token` → `X-Token`); invalid names are kept. */
export function canonicalHeaderName(name: string): string {
  if (!TOKEN_CHARS.test(name)) return name;
  let upper = true;
  let out = '';
  for (const c of name) {
    out += upper ? c.toUpperCase() : c.toLowerCase();
    upper = c === '-';
  }
  return out;
}

/** Splits an `extraheader` value at its first `:`; the value is trimmed as Go's writer does. */
export function parseExtraHeader(text: string): {name: string; value: string} {
  const colon = text.indexOf(':');
  if (colon < 0) throw fieldError('extra header must be in the form key:value', 'extraheader', text);
  return {name: canonicalHeaderName(text.slice(0, colon)), value: text.slice(colon + 1).trim()};
}

/** The Origin Go's dialer sends: `http(s)://<host[:port] as written in the URL>`. */
export function dialerOrigin(url: URL): string {
  return `${url.protocol === 'wss:' ? 'https' : 'http'}://${url.host}`;
}

/** Parses a ws-peer address; throws an Error saying what is wrong. */
export function parseWsUrl(address: string): URL {
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw new ReceptorError('E_ADDRESS', `address ${address} is not a valid URL`);
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    throw new ReceptorError('E_ADDRESS', `address ${address} is not a valid URL: the scheme must be ws or wss`);
  }
  return url;
}
