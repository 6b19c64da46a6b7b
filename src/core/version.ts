import {readFileSync} from 'node:fs';
import {settings} from './settings.js';

let cached: string | undefined;

/** The package version (from package.json next to dist/ or src/): this program's own version. */
export function receptorVersion(): string {
  if (cached) return cached;
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {version?: string};
    cached = pkg.version ?? 'Version unknown';
  } catch {
    cached = 'Version unknown';
  }
  return cached;
}

/** The name this implementation goes by (npm package `receptor-mesh`). */
export const IMPLEMENTATION_NAME = 'receptor-mesh';

/** `receptor-mesh 0.1.0`: the `Implementation` field of `status`. */
export function implementationString(): string {
  return `${IMPLEMENTATION_NAME} ${receptorVersion()}`;
}

/**
 * The receptor release reported as `Version` in `status` by default: that of the newest
 * receptorctl the interop suites run (receptor and receptorctl are released together under one
 * version). receptorctl compares the field with its own package version and warns when they
 * differ; AWX never reads it. (The Go daemons we compare behaviour with are 1.4.9 and a later
 * development build: README, "Interoperability".)
 */
export const GO_RECEPTOR_VERSION = '1.6.9';

/** Environment variable that replaces {@link GO_RECEPTOR_VERSION} (the node item's `reportedversion` wins over it). */
export const REPORTED_VERSION_ENV = 'RECEPTOR_REPORTED_VERSION';

/** Checks a version to report; returns the error text, or undefined when it is fine. */
export function checkReportedVersion(v: string): string | undefined {
  if (!/^[\x21-\x7e]+$/.test(v)) return `must be a version without spaces or control characters, e.g. 1.4.9 (got ${JSON.stringify(v)})`;
  return undefined;
}

/** Where the reported version came from, for `receptor version`. */
export type ReportedVersionSource = 'node item' | 'environment' | 'default';

/**
 * The version reported as `Version`: the node item's `reportedversion` (`configured`), else
 * $RECEPTOR_REPORTED_VERSION, else {@link GO_RECEPTOR_VERSION}. Both are checked when a node's
 * configuration is loaded ({@link reportedVersionProblem}).
 */
export function reportedVersion(configured?: string, env?: NodeJS.ProcessEnv): {version: string; source: ReportedVersionSource} {
  if (configured) return {version: configured, source: 'node item'};
  const e = env ? env[REPORTED_VERSION_ENV] : settings().reportedVersion;
  if (e) return {version: e, source: 'environment'};
  return {version: GO_RECEPTOR_VERSION, source: 'default'};
}

/** Why the node item's `reportedversion` or $RECEPTOR_REPORTED_VERSION cannot be used (undefined: fine). */
export function reportedVersionProblem(configured: string, env?: NodeJS.ProcessEnv): string | undefined {
  if (configured) {
    const why = checkReportedVersion(configured);
    return why && `reportedversion ${why}`;
  }
  const e = env ? env[REPORTED_VERSION_ENV] : settings().reportedVersion;
  if (e === undefined || e === '') return undefined;
  const why = checkReportedVersion(e);
  return why && `${REPORTED_VERSION_ENV} ${why}`;
}

/** The node item's `reportedversion` per running node (one per process in practice). */
const configuredFor = new WeakMap<object, string>();

/** Records the node item's `reportedversion` for `node` (empty: not set). */
export function setConfiguredVersion(node: object, v: string): void {
  if (v) configuredFor.set(node, v);
  else configuredFor.delete(node);
}

/** What `node` reports as `Version` in `status`. */
export function nodeReportedVersion(node: object): string {
  return reportedVersion(configuredFor.get(node)).version;
}

/** The two lines (label, value) about this program. */
export function versionRows(r: {version: string; reportedVersion: string; reportedVersionSource: ReportedVersionSource}): Array<[string, string]> {
  const why =
    r.reportedVersionSource === 'default'
      ? 'default: the release of the newest receptorctl tested'
      : r.reportedVersionSource === 'environment'
        ? 'from RECEPTOR_REPORTED_VERSION'
        : 'from the node item';
  return [
    [`${IMPLEMENTATION_NAME} (this program)`, r.version],
    ['reported as Version', `${r.reportedVersion} (${why})`],
  ];
}

/** Label/value rows with the values in one column. */
export function alignRows(rows: Array<[string, string]>): string[] {
  const w = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `${label.padEnd(w)}  ${value}`);
}
