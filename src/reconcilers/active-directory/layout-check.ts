// Turns a base DN or a managed OU the directory cannot hold into a configuration error that names the setting to fix (observe's failure path only).
import { ConfigError } from '../../errors.ts';
import { type AdClient, AdResultError, adSetting, NO_SUCH_OBJECT } from './client.ts';
import { formatDn, normalizeDn, parseDn } from './escape.ts';
import type { AdLayout } from './model.ts';

/** True when an LDAP search failed because its base does not exist. */
export function isNoSuchObject(err: unknown): boolean {
  return err instanceof AdResultError && err.resultCode === NO_SUCH_OBJECT;
}

/** A search under the base DN found no base: say which setting names it and, when the DC tells, what it should be. */
export async function missingBaseDnError(client: AdClient, layout: AdLayout, cause: unknown, signal: AbortSignal): Promise<ConfigError> {
  const actual = await client.defaultNamingContext(signal).catch(() => undefined);
  const hint = actual ? `; this DC's domain is "${actual}"` : '';
  return new ConfigError(`${adSetting('baseDN')} is "${layout.baseDN}", which does not exist in Active Directory${hint}`, { baseDN: layout.baseDN }, { cause });
}

/**
 * infrasec creates the managed OU when it is missing, but not the OUs above it: when its parent is missing too, the
 * plan would offer a create that apply cannot make, so the pass fails now, naming the setting.
 */
export async function checkManagedOuParent(client: AdClient, layout: AdLayout, signal: AbortSignal): Promise<void> {
  const parent = formatDn(parseDn(layout.managedOU).slice(1));
  if (parent === '' || normalizeDn(parent) === normalizeDn(layout.baseDN)) return;
  const found = await client.searchIfExists({ base: parent, scope: 'base', filter: '(objectClass=*)', attributes: ['objectClass'] }, signal);
  if (found.length > 0) return;
  throw new ConfigError(
    `${adSetting('managedOU')} places the managed OU at "${layout.managedOU}", but "${parent}" does not exist in Active Directory; infrasec creates the managed OU, not the OUs above it: create "${parent}" or choose another managedOU`,
    { managedOU: layout.managedOU },
  );
}
