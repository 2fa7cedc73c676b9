// What scripts/debian-packages.txt lists, and what dpkg says about this machine: which package owns a file, and which
// packages a list brings in through Depends/Pre-Depends alone (what `apt-get install --no-install-recommends` installs).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';

export const PACKAGE_LIST = new URL('../../scripts/debian-packages.txt', import.meta.url);

export interface ListedPackage {
  readonly name: string;
  /** Commands that must run and files (absolute paths, globs allowed) that must exist once it is installed. */
  readonly checks: readonly string[];
}

/** The list's lines as setup.sh reads them: `PACKAGE [CHECK...]  # comment`, blank and comment lines skipped. */
export function parsePackageList(text: string): ListedPackage[] {
  return text
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter((line) => line !== '')
    .map((line) => {
      const [name, ...checks] = line.split(/\s+/);
      return { name: name!, checks };
    });
}

export function readPackageList(): ListedPackage[] {
  return parsePackageList(readFileSync(PACKAGE_LIST, 'utf8'));
}

interface InstalledPackage {
  /** Essential packages are on every Debian system (debootstrap's minbase included). */
  readonly essential: boolean;
  readonly provides: readonly string[];
  /** Each clause is a list of alternatives (`a | b`). */
  readonly depends: readonly (readonly string[])[];
}

/** Package names of a Depends-style field: version constraints and architecture qualifiers dropped. */
function clauses(field: string): string[][] {
  return field
    .split(',')
    .map((clause) => clause.split('|').map((alt) => alt.trim().replace(/\s*\(.*\)$/, '').replace(/:\w+$/, '')).filter((alt) => alt !== ''))
    .filter((alts) => alts.length > 0);
}

/** Every installed package with what it provides and depends on, from dpkg's database (no network). */
export function installedPackages(): Map<string, InstalledPackage> {
  const out = execFileSync('dpkg-query', ['-W', '-f', '${db:Status-Abbrev}\\t${Package}\\t${Essential}\\t${Provides}\\t${Pre-Depends}, ${Depends}\\n'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const installed = new Map<string, InstalledPackage>();
  for (const line of out.split('\n')) {
    const [status, name, essential, provides, depends] = line.split('\t');
    if (!status?.startsWith('ii') || !name) continue;
    installed.set(name, { essential: essential === 'yes', provides: clauses(provides ?? '').flat(), depends: clauses(depends ?? '') });
  }
  return installed;
}

/** The packages present once `list` is installed without Recommends: the essential ones, each listed one and, recursively, the first installed alternative of each dependency. */
export function dependencyClosure(list: readonly string[], installed: Map<string, InstalledPackage>): Set<string> {
  const providers = new Map<string, string[]>();
  for (const [name, pkg] of installed) for (const virtual of pkg.provides) providers.set(virtual, [...(providers.get(virtual) ?? []), name]);
  const resolve = (name: string): string | undefined => (installed.has(name) ? name : providers.get(name)?.[0]);
  const closure = new Set<string>();
  const queue = [...list, ...[...installed].filter(([, pkg]) => pkg.essential).map(([name]) => name)];
  for (let guard = 0; queue.length > 0 && guard < 100_000; guard += 1) {
    const name = queue.pop()!;
    if (closure.has(name)) continue;
    closure.add(name);
    for (const alternatives of installed.get(name)?.depends ?? []) {
      const chosen = alternatives.map(resolve).find((p) => p !== undefined);
      if (chosen !== undefined && !closure.has(chosen)) queue.push(chosen);
    }
  }
  return closure;
}

/** The packages owning each of `paths` (one dpkg -S for all), trying each as given, resolved, and across the /usr merge (/bin ↔ /usr/bin). */
export function owningPackages(paths: readonly string[]): Map<string, string[]> {
  const spellings = new Map(
    paths.map((path) => {
      const real = existsSync(path) ? realpathSync(path) : path;
      return [path, [...new Set([path, real].flatMap((p) => [p, p.startsWith('/usr/') ? p.slice(4) : `/usr${p}`]))]] as const;
    }),
  );
  // dpkg-query -S exits 1 when one pattern is owned by nothing, after printing the owners of the others.
  const result = spawnSync('dpkg-query', ['-S', ...new Set([...spellings.values()].flat())], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const owners = new Map<string, string[]>();
  for (const line of result.stdout.split('\n')) {
    const at = line.indexOf(': /');
    if (at > 0) owners.set(line.slice(at + 2), line.slice(0, at).split(', ').map((p) => p.replace(/:\w+$/, '')));
  }
  return new Map(paths.map((path) => [path, [...new Set(spellings.get(path)!.flatMap((s) => owners.get(s) ?? []))]]));
}

/** Where `command` is on a root PATH (sbin included), or undefined. */
export function commandPath(command: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', 'command -v "$1"', 'sh', command], {
      encoding: 'utf8',
      env: { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/local/sbin:/usr/sbin:/sbin` },
    }).trim() || undefined;
  } catch {
    return undefined;
  }
}
