// Starts a real Modoboa for the demo, ties it to the demo's Samba AD as a Modoboa host admin would (CA trusted, a read-only bind account), and describes what it holds afterwards.
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from 'ldapts';
import { startModoboa, type Modoboa } from '../test/harness/modoboa.ts';
import type { SambaDc } from '../test/harness/samba.ts';

export interface DemoMail {
  readonly url: string;
  /** INFRASEC_MODOBOA_* variables for the CLI (the API token, and the LDAP authentication once trustDirectory ran). */
  readonly env: Readonly<Record<string, string>>;
  /** What an admin does on the Modoboa host and in AD: trust the DC's CA, make a read-only account to search with. */
  trustDirectory(dc: SambaDc): Promise<void>;
  /** Modoboa's login form, as a browser posts it: 302 signed in, 401 refused. */
  login(address: string, password: string): Promise<number>;
  /** The domains, mailboxes and aliases Modoboa holds. */
  describe(): Promise<string>;
  /** One mailbox: enabled or not, and the functional aliases that still deliver to it. */
  describeMailboxOf(address: string): Promise<string>;
  close(): Promise<void>;
}

interface Page<T> {
  readonly results: T[];
}

export async function startDemoMail(dir: string): Promise<DemoMail> {
  await mkdir(dir, { recursive: true });
  // libldap reads the CA file at Modoboa's first LDAP login, so Modoboa can start before the DC (in parallel).
  const caFile = join(dir, 'ad-ca.pem');
  const m: Modoboa = await startModoboa({ ldapCaFile: caFile });
  const env: Record<string, string> = { INFRASEC_MODOBOA_URL: m.url, INFRASEC_MODOBOA_TOKEN: m.token, INFRASEC_MODOBOA_INSTANCE: 'cod67' };
  const api = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${m.url}${path}`, { headers: { Authorization: `Token ${m.token}` }, signal: AbortSignal.timeout(30_000) });
    if (res.status !== 200) throw new Error(`Modoboa answered ${path} with ${res.status}`);
    return (await res.json()) as T;
  };
  type Account = { username: string; is_active: boolean; role: string; first_name: string; last_name: string; mailbox: { quota: string; use_domain_quota: boolean } | null };
  type Alias = { address: string; recipients: string[]; enabled: boolean };

  return {
    url: m.url,
    env,
    async trustDirectory(dc) {
      await copyFile(dc.caFile, caFile);
      const password = `Svc-${randomBytes(12).toString('base64url')}-9a`;
      const bindDN = `CN=svc-modoboa,CN=Users,${dc.baseDN}`;
      const ldap = new Client({ url: dc.ldapsUrl, tlsOptions: { ca: await readFile(dc.caFile) }, timeout: 10_000, connectTimeout: 10_000 });
      try {
        await ldap.bind(dc.bindDN, dc.bindPassword);
        await ldap.add(bindDN, {
          objectClass: ['top', 'person', 'organizationalPerson', 'user'],
          sAMAccountName: 'svc-modoboa',
          unicodePwd: Buffer.from(`"${password}"`, 'utf16le') as unknown as string,
          userAccountControl: '66048', // normal account, password never expires
        });
      } finally {
        await ldap.unbind();
      }
      const passwordFile = join(dir, 'modoboa-ldap-bind');
      await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
      Object.assign(env, {
        INFRASEC_MODOBOA_LDAP_URL: dc.ldapsUrl,
        INFRASEC_MODOBOA_LDAP_BIND_DN: bindDN,
        INFRASEC_MODOBOA_LDAP_BIND_PASSWORD_FILE: passwordFile,
        INFRASEC_MODOBOA_LDAP_SEARCH_BASE: dc.baseDN,
      });
    },
    login: (address, password) => m.login(address, password),
    async describe() {
      const [domains, accounts, aliases] = await Promise.all([
        api<Page<{ name: string; quota: number; default_mailbox_quota: number; enabled: boolean }>>('/api/v2/domains/?page_size=100'),
        api<Page<Account>>('/api/v2/accounts/?page_size=200'),
        api<Page<Alias>>('/api/v2/aliases/?page_size=200'),
      ]);
      // Alone, after the lists: Modoboa 2.12 may answer its parameters with defaults beside another request.
      const core = await api<{ params: Record<string, unknown> }>('/api/v2/parameters/global/core/');
      const lines: string[] = [];
      for (const d of domains.results) lines.push(`Domain ${d.name}: quota pool ${d.quota} MB, ${d.default_mailbox_quota} MB per mailbox by default, ${d.enabled ? 'enabled' : 'disabled'}`);
      const boxes = accounts.results.filter((a) => a.mailbox);
      lines.push(`Mailboxes (${boxes.length}):`);
      for (const a of boxes) lines.push(`  ${a.username.padEnd(32)} ${`${a.first_name} ${a.last_name}`.padEnd(20)} ${a.mailbox!.use_domain_quota ? 'domain default' : `${a.mailbox!.quota} MB`}${a.is_active ? '' : '  DISABLED'}`);
      const functional = aliases.results.filter((a) => !boxes.some((b) => b.username === a.address));
      lines.push(`Aliases (${functional.length}):`);
      for (const a of functional) lines.push(`  ${a.address.padEnd(36)} → ${a.recipients.join(', ')}${a.enabled ? '' : '  (disabled)'}`);
      const p = core.params;
      lines.push(`Authentication: ${String(p['authentication_type'])} against ${p['ldap_secured'] === 'ssl' ? 'ldaps' : 'ldap+starttls'}://${String(p['ldap_server_address'])}:${String(p['ldap_server_port'])}, Active Directory ${p['ldap_is_active_directory'] ? 'yes' : 'no'}, bind ${String(p['ldap_bind_dn'])}`);
      return lines.join('\n');
    },
    async describeMailboxOf(address) {
      const [accounts, aliases] = await Promise.all([api<Page<Account>>('/api/v2/accounts/?page_size=200'), api<Page<Alias>>('/api/v2/aliases/?page_size=200')]);
      const a = accounts.results.find((x) => x.username === address);
      const delivering = aliases.results.filter((x) => x.address !== address && x.recipients.includes(address)).map((x) => x.address);
      return `${address}: ${a ? (a.is_active ? 'account enabled' : 'account disabled, mailbox kept') : 'no account'}; functional aliases delivering to it: ${delivering.join(', ') || 'none'}`;
    },
    close: () => m.stop(),
  };
}
