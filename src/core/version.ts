import {readFileSync} from 'node:fs';

let cached: string | undefined;

/** The package version (from package.json next to dist/ or src/). */
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
