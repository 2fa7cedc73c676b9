// scripts/debian-packages.txt against what the tests really use: every command the code spawns and every file a Samba
// DC provision loads must belong to a listed package or to one it Depends on (Recommends are not installed), per dpkg.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { commandPath, dependencyClosure, installedPackages, owningPackages, readPackageList } from './dpkg.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Commands spawned by the code with a literal name: `execFile('age', …)`, `spawn('samba', …)`, `run('ldapsearch', …)`. */
function spawnedCommands(): Map<string, string> {
  const found = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.[cm]?[jt]s$/.test(entry.name)) {
        for (const m of readFileSync(path, 'utf8').matchAll(/\b(?:execFile|execFileSync|spawn|spawnSync|run)\(\s*'([\w.+-]+)'/g)) {
          if (!found.has(m[1]!)) found.set(m[1]!, relative(ROOT, path));
        }
      }
    }
  };
  for (const dir of ['src', 'test', 'scripts', 'bench']) if (existsSync(join(ROOT, dir))) walk(join(ROOT, dir));
  return found;
}

/** Not Debian's to provide: Node.js and npm come with the machine. */
const NOT_FROM_DEBIAN = new Set(['node', 'npm', 'npx']);
/** Spawned by the programs the tests start rather than by our code, or by work that parses their output. */
const SPAWNED_INDIRECTLY = ['winbindd', 'openvpn'];
/** The vfs modules the shares of a provisioned AD DC load (sysvol and netlogon: `vfs objects = dfs_samba4 acl_xattr`). */
const DC_VFS_MODULES = ['dfs_samba4', 'acl_xattr'];

interface Needed {
  readonly what: string;
  readonly path: string;
  owners?: readonly string[];
}

/** Files `samba-tool domain provision` and `samba` load: the provision setup files, the dsdb ldb modules, the shares' vfs modules. */
function provisionFiles(): Needed[] {
  const paths = Object.fromEntries(
    [...execFileSync(commandPath('samba') ?? 'samba', ['-b'], { encoding: 'utf8' }).matchAll(/^\s*(\w+):\s*(\S+)\s*$/gm)].map((m) => [m[1]!, m[2]!]),
  );
  const setupDir = paths.SETUPDIR ?? '/usr/share/samba/setup';
  const modulesDir = paths.MODULESDIR ?? '';
  const files = (dir: string, suffix = '') => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(suffix)).map((f) => join(dir, f)) : []);
  return [
    ...files(setupDir).filter((p) => statSync(p).isFile()).map((path) => ({ what: 'provision setup file', path })),
    ...files(join(modulesDir, 'ldb'), '.so').map((path) => ({ what: 'ldb module', path })),
    ...DC_VFS_MODULES.map((m) => ({ what: 'vfs module', path: join(modulesDir, 'vfs', `${m}.so`) })),
  ];
}

describe('scripts/debian-packages.txt', () => {
  let listed: string[];
  let needed: Needed[];
  let installed: ReturnType<typeof installedPackages>;
  const commands = spawnedCommands();

  /** The needed files and commands that no package of `list` (nor what it Depends on) owns, with their owners. */
  function uncovered(list: readonly string[]): string[] {
    const closure = dependencyClosure(list, installed);
    return needed
      .filter((n) => !n.owners!.some((o) => closure.has(o)))
      .map((n) => `${n.what} ${n.path} (owned by ${n.owners!.join(', ') || 'no package'})`);
  }

  beforeAll(() => {
    listed = readPackageList().map((p) => p.name);
    installed = installedPackages();
    const missingCommands = [...commands.keys(), ...SPAWNED_INDIRECTLY].filter((c) => !NOT_FROM_DEBIAN.has(c) && commandPath(c) === undefined);
    expect(missingCommands, 'commands the code spawns that are not installed: add their package to the list and run scripts/setup.sh').toEqual([]);
    needed = [
      ...[...commands.keys(), ...SPAWNED_INDIRECTLY].filter((c) => !NOT_FROM_DEBIAN.has(c)).map((c) => ({ what: `command ${c} (${commands.get(c) ?? 'spawned indirectly'})`, path: commandPath(c)! })),
      ...provisionFiles(),
    ];
    const owners = owningPackages(needed.map((n) => n.path));
    for (const n of needed) n.owners = owners.get(n.path) ?? [];
  });

  it('finds the commands the code spawns and the files a DC provision loads (so the check below checks something)', () => {
    expect([...commands.keys()]).toEqual(expect.arrayContaining(['samba', 'samba-tool', 'ldapsearch', 'age', 'git', 'gpg', 'ssh-keygen', 'ip']));
    const files = needed.map((n) => n.path);
    expect(files.filter((f) => f.endsWith('/provision.ldif'))).toHaveLength(1);
    expect(files.filter((f) => f.endsWith('/ldb/samba_dsdb.so'))).toHaveLength(1);
    expect(files.filter((f) => f.endsWith('/vfs/acl_xattr.so'))).toHaveLength(1);
  });

  it('names only packages that exist on this machine once setup ran', () => {
    expect(listed.filter((p) => !installed.has(p))).toEqual([]);
  });

  it('brings in, without Recommends, the package of every needed command and file', () => {
    expect(uncovered(listed)).toEqual([]);
  });

  it.each([
    ['samba-ad-provision', 'provision.ldif'],
    ['samba-dsdb-modules', 'samba_dsdb.so'],
    ['samba-vfs-modules', 'acl_xattr.so'],
    ['ldap-utils', 'ldapsearch'],
    ['age', 'age-keygen'],
    ['openvpn', 'openvpn'],
    ['iproute2', 'command ip'],
  ])('turns red when %s is dropped from the list (%s is then not covered)', (dropped, witness) => {
    const gaps = uncovered(listed.filter((p) => p !== dropped));
    expect(gaps.filter((g) => g.includes(witness) && g.includes(dropped))).not.toEqual([]);
  });
});
