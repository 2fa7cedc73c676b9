// Executes a guarded Modoboa plan in order: one write per change, then a read-back of that object (a 200 is not proof).
import { randomBytes, randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import type { Secret } from '../../desired/secret.ts';
import { ApplyHalt } from '../../engine/apply-halt.ts';
import type { Applied, ApplyHooks, Change, GuardedPlan } from '../../engine/types.ts';
import { ModoboaApiError, type ModoboaClient } from './client.ts';
import { OWNERSHIP_FIELD, type AliasValues, type AuthenticationValues, type DomainValues, type MailboxValues, type ModoboaPayload } from './model.ts';
import { CORE_PARAMETERS, normalizeAccount, normalizeAlias, normalizeAuthentication, normalizeDomain, readCoreParameters } from './observe.ts';
import { authenticationDifferences } from './plan-authentication.ts';
import { liveMailboxValues } from './plan.ts';
import { aliasBody, domainBody, mailboxBody } from './wire.ts';

/** The local inventory apply keeps: what infrasec created or adopted where Modoboa has no field to mark it. */
export interface InventoryWriter {
  addDomain(name: string): Promise<void>;
  removeDomain(name: string): Promise<void>;
  addAccount(username: string): Promise<void>;
  removeAccount(username: string): Promise<void>;
}

export interface ApplyContext {
  readonly client: ModoboaClient;
  readonly inventory: InventoryWriter;
  readonly instance: string;
  readonly logger?: Logger;
}

/**
 * A throw-away password for a new account, meeting Modoboa's default policy (upper, lower, digit, 8+): people log in
 * with their Active Directory password through Modoboa's LDAP backend, so this one is never stored or shown.
 */
export function throwAwayPassword(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  const body = [...randomBytes(32)].map((b) => alphabet[b % alphabet.length]).join('');
  return `${'ABCDEFGHJKLMNPQRSTUVWXYZ'[randomInt(24)]}${'abcdefghijkmnopqrstuvwxyz'[randomInt(25)]}${randomInt(10)}${body}`;
}

/** What differs between what was written and what Modoboa now holds; empty when they agree. */
function differences(want: Readonly<Record<string, unknown>>, got: Readonly<Record<string, unknown>>): string[] {
  return Object.keys(want)
    .filter((k) => JSON.stringify(want[k]) !== JSON.stringify(got[k]))
    .map((k) => `${k} is ${JSON.stringify(got[k])}, not ${JSON.stringify(want[k])}`);
}

class ReadBackError extends Error {}

async function gone(client: ModoboaClient, path: string, signal: AbortSignal): Promise<boolean> {
  try {
    await client.call('GET', path, undefined, signal);
    return false;
  } catch (err) {
    if (err instanceof ModoboaApiError && err.status === 404) return true;
    throw err;
  }
}

const NO_INVENTORY = { ownsDomain: () => true, ownsAccount: () => true };

/** A domain's or account's ownership lives in the local inventory only: taking one over writes nothing to Modoboa. */
const changesModoboa = (f: Change['fields'][number]) => f.path !== OWNERSHIP_FIELD;

/** One change: its write(s), then the read-back. Returns the number of writes sent. */
async function applyOne(c: Change, ctx: ApplyContext, signal: AbortSignal): Promise<number> {
  const p = c.payload as unknown as ModoboaPayload;
  const { client, inventory, instance } = ctx;
  const before = client.writes;
  switch (p.op) {
    case 'authentication.update':
      await writeAuthentication(client, p.values, p.bindPassword, signal);
      break;
    case 'domain.create': {
      // Inventory first: if the answer is lost, the next pass finds the domain already owned, not a stranger.
      await inventory.addDomain(p.name);
      const created = await client.call<{ pk: number }>('POST', 'api/v2/domains/', { name: p.name, ...domainBody(p.values) }, signal);
      await readBackDomain(client, created.pk, p.values, signal);
      break;
    }
    case 'domain.update': {
      if (p.adopt || p.takeOver) await inventory.addDomain(p.name);
      if (c.fields.some(changesModoboa)) await client.call('PATCH', `api/v2/domains/${p.pk}/`, domainBody(p.values), signal);
      await readBackDomain(client, p.pk, p.values, signal);
      break;
    }
    case 'domain.delete': {
      await client.call('POST', `api/v2/domains/${p.pk}/delete/`, { keep_folder: true }, signal);
      if (!(await gone(client, `api/v2/domains/${p.pk}/`, signal))) throw new ReadBackError(`domain ${p.name} is still there after delete`);
      await inventory.removeDomain(p.name);
      break;
    }
    case 'mailbox.create': {
      await inventory.addAccount(p.address);
      const created = await client.call<{ pk: number }>('POST', 'api/v2/accounts/', { username: p.address, role: 'SimpleUsers', password: throwAwayPassword(), ...mailboxBody(p.values) }, signal);
      await readBackMailbox(client, created.pk, p.values, signal);
      break;
    }
    case 'mailbox.update': {
      if (p.adopt || p.takeOver) await inventory.addAccount(p.address);
      if (c.fields.some(changesModoboa)) await client.call('PATCH', `api/v2/accounts/${p.pk}/`, mailboxBody(p.values), signal);
      await readBackMailbox(client, p.pk, p.values, signal);
      break;
    }
    case 'mailbox.delete': {
      await client.call('POST', `api/v2/accounts/${p.pk}/delete/`, { keepdir: false }, signal);
      if (!(await gone(client, `api/v2/accounts/${p.pk}/`, signal))) throw new ReadBackError(`account ${p.address} is still there after delete`);
      await inventory.removeAccount(p.address);
      break;
    }
    case 'alias.create': {
      const created = await client.call<{ pk: number }>('POST', 'api/v2/aliases/', { address: p.address, ...aliasBody(p.values, instance) }, signal);
      await readBackAlias(client, created.pk, p.values, instance, signal);
      break;
    }
    case 'alias.update': {
      // recipients always travel: Modoboa's update cannot handle an absent list.
      await client.call('PATCH', `api/v2/aliases/${p.pk}/`, aliasBody(p.values, instance), signal);
      await readBackAlias(client, p.pk, p.values, instance, signal);
      break;
    }
    case 'alias.delete': {
      await client.call('DELETE', `api/v2/aliases/${p.pk}/`, undefined, signal);
      if (!(await gone(client, `api/v2/aliases/${p.pk}/`, signal))) throw new ReadBackError(`alias ${p.address} is still there after delete`);
      break;
    }
  }
  return client.writes - before;
}

/**
 * Modoboa saves its core parameters all at once (PUT; a parameter left out falls back to its default), so the set is
 * read right before the write (twice alike, see readCoreParameters) and sent back whole with the LDAP ones changed:
 * what an admin set elsewhere (password scheme, theme, SMS...) stays. Then read back, the bind password compared in
 * memory only.
 */
async function writeAuthentication(client: ModoboaClient, values: AuthenticationValues, bindPassword: Secret, signal: AbortSignal): Promise<void> {
  const current = await readCoreParameters(client, signal);
  try {
    await client.call('PUT', CORE_PARAMETERS, { ...current, ...values, ldap_bind_password: bindPassword.reveal() }, signal);
  } catch (err) {
    // Modoboa's field errors quote some values back; the password must not travel in a message.
    const secret = bindPassword.reveal();
    if (err instanceof Error && secret && err.message.includes(secret)) throw new Error(err.message.split(secret).join('(sensitive)'));
    throw err;
  }
  const back = normalizeAuthentication(await readCoreParameters(client, signal));
  const diffs = authenticationDifferences({ values, bindPassword }, back).map((f) => (f.sensitive ? `${f.path} is not the one written` : `${f.path} is ${JSON.stringify(f.before)}, not ${JSON.stringify(f.after)}`));
  if (diffs.length > 0) throw new ReadBackError(`read back after the write: ${diffs.join('; ')}`);
}

async function readBackDomain(client: ModoboaClient, pk: number, want: DomainValues, signal: AbortSignal): Promise<void> {
  const d = normalizeDomain(await client.call('GET', `api/v2/domains/${pk}/`, undefined, signal), NO_INVENTORY);
  const diffs = differences({ ...want }, { quotaMB: d.quotaMB, defaultMailboxQuotaMB: d.defaultMailboxQuotaMB, enabled: d.enabled });
  if (diffs.length > 0) throw new ReadBackError(`read back after the write: ${diffs.join('; ')}`);
}
async function readBackMailbox(client: ModoboaClient, pk: number, want: MailboxValues, signal: AbortSignal): Promise<void> {
  const a = normalizeAccount(await client.call('GET', `api/v2/accounts/${pk}/`, undefined, signal), NO_INVENTORY);
  const diffs = differences({ ...want, hasMailbox: true }, { ...liveMailboxValues(a), hasMailbox: a.mailbox !== null });
  if (diffs.length > 0) throw new ReadBackError(`read back after the write: ${diffs.join('; ')}`);
}
async function readBackAlias(client: ModoboaClient, pk: number, want: AliasValues, instance: string, signal: AbortSignal): Promise<void> {
  const a = normalizeAlias(await client.call('GET', `api/v2/aliases/${pk}/`, undefined, signal), instance);
  const diffs = differences({ recipients: [...want.recipients].sort(), enabled: want.enabled, owned: true }, { recipients: a.recipients, enabled: a.enabled, owned: a.owned });
  if (diffs.length > 0) throw new ReadBackError(`read back after the write: ${diffs.join('; ')}`);
}

export async function applyModoboaPlan(plan: GuardedPlan, ctx: ApplyContext, signal: AbortSignal, hooks?: ApplyHooks): Promise<Applied[]> {
  const out: Applied[] = [];
  const halt = new ApplyHalt();
  for (const c of plan.changes) {
    let applied: Applied;
    if (halt.reason !== undefined) {
      applied = halt.notAttempted(c);
    } else {
      const before = ctx.client.writes;
      try {
        const writes = await applyOne(c, ctx, signal);
        applied = { change: c, ok: true, writes };
      } catch (err) {
        const message = (err as Error).message;
        halt.failed(err, signal, () => message);
        applied = { change: c, ok: false, writes: ctx.client.writes - before, error: message };
      }
    }
    out.push(applied);
    hooks?.onApplied?.(applied, out.length, plan.changes.length);
  }
  return out;
}
