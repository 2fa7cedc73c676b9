// Pure: diff the LDAP authentication infrasec.yaml asks for (systems.modoboa.ldap*) against Modoboa's global parameters. No I/O.
import { REDACTED } from '../../desired/secret.ts';
import type { Change, FieldChange } from '../../engine/types.ts';
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

/** The fields whose values differ, the bind password as "(sensitive)" only. */
export function authenticationDifferences(desired: DesiredAuthentication, live: LiveAuthentication | undefined): FieldChange[] {
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
  const fields = authenticationDifferences(desired, live);
  if (fields.length === 0) return undefined;
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
    reason: "Modoboa's LDAP authentication differs from systems.modoboa.ldap* in the configuration",
    rank: RANK.authentication,
    payload: payload as unknown as Readonly<Record<string, unknown>>,
  };
}
