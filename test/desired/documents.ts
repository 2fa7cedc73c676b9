// Test fixtures for the desired-state loader: a small valid state of every kind as YAML files, and ways to vary and write it.
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';

export type Files = Record<string, string | Uint8Array>;

export function resource(kind: string, name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: 'infrasec/v1', kind, metadata: { name }, spec };
}

/** Several documents as one YAML stream, in block style so every field sits on its own line. */
export function yamlDocs(...docs: ReadonlyArray<Record<string, unknown>>): string {
  return docs.map((d) => stringify(d)).join('---\n');
}

/** A small state where every kind appears and every reference resolves. */
export function baseFiles(): Record<string, string> {
  return {
    'mail/domain.yaml': yamlDocs(resource('MailDomain', 'cod.example.fr', {})),
    'groups.yaml': yamlDocs(
      resource('Group', 'ops', { description: 'Opérateurs' }),
      resource('Group', 'all', { members: ['Group/ops', 'User/jdupont', 'amuller'] }),
    ),
    'users.yaml': yamlDocs(
      resource('User', 'jdupont', { givenName: 'Jean', surname: 'Dupont', email: 'jdupont@cod.example.fr', groups: ['ops'], password: { generate: true } }),
      resource('User', 'amuller', { givenName: 'Anne', surname: 'Muller', email: 'amuller@cod.example.fr', groups: ['ops'], mailbox: { aliases: ['anne@cod.example.fr'] } }),
    ),
    'telephony.yaml': yamlDocs(
      resource('Extension', 'ext-200', { number: '200', owner: 'jdupont', callerIdName: 'Jean Dupont', secret: { generate: true } }),
      resource('Extension', 'ext-4000', { number: '4000', owner: 'amuller', callerIdName: 'Anne (terrain)', secret: { generate: true }, transport: 'wss', webrtc: true, messaging: true }),
      resource('Conference', 'reunion', { number: '25', title: 'Reunion', userPin: { generate: true, length: 4, charset: 'digits' } }),
    ),
    'vpn.yaml': yamlDocs(
      resource('VpnProfile', 'vpn-jdupont', { user: 'jdupont', server: 'rw', tunnelNetwork: '10.8.0.0/24', staticAddress: '10.8.0.10', routes: ['192.168.10.0/24'] }),
    ),
    'firewall.yaml': yamlDocs(
      resource('FirewallAlias', 'srv-web', { type: 'host', entries: ['172.16.50.10'] }),
      resource('FirewallAlias', 'net-lan', { type: 'network', entries: ['192.168.10.0/24'] }),
      resource('FirewallAlias', 'ports-web', { type: 'port', entries: ['443', '8000:8080'] }),
      resource('FirewallRule', 'wan-web', { interface: 'wan', action: 'pass', protocol: 'tcp', source: { any: true }, destination: { alias: 'srv-web' }, portAlias: 'ports-web', order: 100 }),
      resource('FirewallRule', 'dmz-lan-deny', { interface: 'dmz', action: 'block', source: { network: 'dmz' }, destination: { alias: 'net-lan' }, order: 100 }),
      resource('PortForward', 'wan-web', { interface: 'wan', externalPort: '443', target: '172.16.50.10', targetPort: '443' }),
    ),
    'mail/aliases.yaml': yamlDocs(resource('MailAlias', 'contact', { address: 'contact@cod.example.fr', recipients: ['User/jdupont', 'cabinet@prefecture.example.org'] })),
  };
}

/** Files as the pure loader takes them, in path order like the directory walk. */
export function toInputs(files: Files): Array<{ file: string; bytes: Uint8Array }> {
  return Object.keys(files).sort().map((file) => {
    const content = files[file]!;
    return { file, bytes: typeof content === 'string' ? new TextEncoder().encode(content) : content };
  });
}

/** Writes files into a fresh temporary directory and returns its path. */
export async function writeTree(files: Files, prefix = 'infrasec-test-'): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), prefix));
  for (const [file, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, file)), { recursive: true });
    await writeFile(join(root, file), content);
  }
  return root;
}

/** 1-based line of the first occurrence of `needle` in `text` (the `nth` one when given). */
export function lineOf(text: string, needle: string, nth = 1): number {
  let at = -1;
  for (let i = 0; i < nth; i++) {
    at = text.indexOf(needle, at + 1);
    if (at === -1) throw new Error(`"${needle}" not found ${nth} time(s) in fixture`);
  }
  return text.slice(0, at).split('\n').length;
}
