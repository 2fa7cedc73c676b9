// Pure: diff the LDAP authentication infrasec.yaml asks for (systems.modoboa.ldap*) against Modoboa's global parameters. No I/O.
import { REDACTED } from '../../desired/secret.ts';
import type { Change, FieldChange, WireFieldChange } from '../../engine/types.ts';
import { yamlFields } from '../../engine/yaml-fields.ts';
import { AUTHENTICATION_NAME, type AuthenticationValues, type DesiredAuthentication, type LiveAuthentication, type ModoboaPayload, RANK } from './model.ts';

/** The parameters compared, in the order a plan prints them. */
export const AUTHENTICATION_KEYS: readonly (keyof AuthenticationValues)[] = [
  'authentication_type',
  'ldap_server_address',
  'ldap_server_port',
  'ldap_secured',
  'ldap_is_active_directory',
  'ldap_auth_method',
  'ldap_bind_dn',
  'ldap_search_base',
  'ldap_search_filter',
];

/** ldaps://host[:port] → TLS on 636 by default; ldap://host[:port] → STARTTLS on 389 by default. */
export function serverOf(ldapUrl: string): Pick<AuthenticationValues, 'ldap_server_address' | 'ldap_server_port' | 'ldap_secured'> {
  const url = new URL(ldapUrl);
  const ssl = url.protocol === 'ldaps:';
  return { ldap_server_address: url.hostname, ldap_server_port: url.port ? Number(url.port) : ssl ? 636 : 389, ldap_secured: ssl ? 'ssl' : 'starttls' };
}

/** The infrasec.yaml setting each of Modoboa's parameters comes from: ldapUrl turns LDAP login on and names the server. */
const SETTING_OF: Readonly<Record<keyof AuthenticationValues | 'ldap_bind_password', string>> = {
  authentication_type: 'systems.modoboa.ldapUrl',
  ldap_server_address: 'systems.modoboa.ldapUrl',
  ldap_server_port: 'systems.modoboa.ldapUrl',
  ldap_secured: 'systems.modoboa.ldapUrl',
  ldap_is_active_directory: 'systems.modoboa.ldapUrl',
  ldap_auth_method: 'systems.modoboa.ldapUrl',
  ldap_bind_dn: 'systems.modoboa.ldapBindDN',
  ldap_search_base: 'systems.modoboa.ldapSearchBase',
  ldap_search_filter: 'systems.modoboa.ldapSearchFilter',
  ldap_bind_password: 'systems.modoboa.ldapBindPassword',
};

/**
 * The ldapUrl Modoboa's parameters amount to: null when it does not log people in through LDAP (as without ldapUrl),
 * undefined when it does in a way no ldapUrl makes (not Active Directory, not searchbind, no TLS).
 */
export function liveLdapUrl(live: LiveAuthentication['values']): string | null | undefined {
  if (live.authentication_type !== 'ldap') return null;
  if (live.ldap_is_active_directory !== true || live.ldap_auth_method !== 'searchbind') return undefined;
  const scheme = live.ldap_secured === 'ssl' ? 'ldaps' : live.ldap_secured === 'starttls' ? 'ldap' : undefined;
  if (!scheme || typeof live.ldap_server_address !== 'string' || live.ldap_server_address === '') return undefined;
  const port = live.ldap_server_port === (scheme === 'ldaps' ? 636 : 389) ? '' : `:${String(live.ldap_server_port)}`;
  return `${scheme}://${live.ldap_server_address}${port}`;
}

/** The fields whose values differ, the bind password as "(sensitive)" only. */
export function authenticationDifferences(desired: Pick<DesiredAuthentication, 'values' | 'bindPassword'>, live: LiveAuthentication | undefined): FieldChange[] {
  const fields: FieldChange[] = [];
  for (const k of AUTHENTICATION_KEYS) {
    const before = live?.values[k] ?? null;
    if (JSON.stringify(before) !== JSON.stringify(desired.values[k])) fields.push({ path: k, before, after: desired.values[k] });
  }
  if (!live || !desired.bindPassword.equals(live.bindPassword.reveal())) {
    fields.push({ path: 'ldap_bind_password', before: live ? REDACTED : null, after: REDACTED, sensitive: true });
  }
  return fields;
}

/** One update of Authentication/ldap when Modoboa's parameters differ from the settings; nothing when they agree or infrasec does not manage them. */
export function planAuthentication(desired: DesiredAuthentication | undefined, live: LiveAuthentication | undefined): Change | undefined {
  if (!desired) return undefined;
  const wire: WireFieldChange[] = authenticationDifferences(desired, live).map((f) => ({ ...f, from: SETTING_OF[f.path as keyof typeof SETTING_OF] }));
  if (wire.length === 0) return undefined;
  // In infrasec.yaml's terms: the settings the parameters come from, as written there and as Modoboa's amount to.
  const v = desired.values;
  const settings = { systems: { modoboa: { ldapUrl: desired.url, ldapBindDN: v.ldap_bind_dn, ldapSearchBase: v.ldap_search_base, ldapSearchFilter: v.ldap_search_filter } } };
  const liveSetting = (path: string): unknown => {
    if (!live) return null;
    if (path === SETTING_OF.authentication_type) return liveLdapUrl(live.values);
    const parameter = (['ldap_bind_dn', 'ldap_search_base', 'ldap_search_filter'] as const).find((k) => SETTING_OF[k] === path);
    return parameter ? live.values[parameter] : undefined;
  };
  const fields = yamlFields(settings, 'update', wire, { liveValue: liveSetting });
  const payload: ModoboaPayload = { op: 'authentication.update', values: desired.values, bindPassword: desired.bindPassword };
  return {
    system: 'modoboa',
    kind: 'Authentication',
    name: AUTHENTICATION_NAME,
    key: `Authentication/${AUTHENTICATION_NAME}`,
    action: 'update',
    prune: false,
    adopt: false,
    fields,
    wire,
    reason: "Modoboa's LDAP authentication differs from systems.modoboa.ldap* in the configuration",
    rank: RANK.authentication,
    payload: payload as unknown as Readonly<Record<string, unknown>>,
  };
}
