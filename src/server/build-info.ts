// The running build's identity for infrasec_build_info: infrasec's version (package.json beside src/ or dist/) and Node's.
import { readFileSync } from 'node:fs';

export interface BuildInfo {
  readonly version: string;
  readonly nodeVersion: string;
}

let cached: BuildInfo | undefined;

/** Read once; a package.json that cannot be read gives version "unknown" rather than a controller that will not start. */
export function buildInfo(): BuildInfo {
  if (cached) return cached;
  let version = 'unknown';
  try {
    // src/server/ under tsx and dist/server/ in the image are both two levels below the package root.
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    if (typeof pkg.version === 'string' && pkg.version) version = pkg.version;
  } catch {
    // version stays "unknown": the metric still says which Node runs it
  }
  cached = { version, nodeVersion: process.version };
  return cached;
}
