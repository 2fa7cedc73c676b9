// Pure: diff desired mail domains, mailboxes (from users' e-mail) and aliases against live Modoboa into Changes. No I/O, no clock.
import type { MailAlias, MailDomain, ResolvedState, User } from '../../desired/model.ts';
import { adoptable } from '../../engine/adoption.ts';
import type { Change, ChangeAction, Conflict, FieldChange, Plan, Policy } from '../../engine/types.ts';
import {
  type AliasValues,
  type DomainValues,
  type LiveAccount,
  type LiveModoboa,
  type MailboxValues,
  type ModoboaKind,
  type ModoboaLayout,
  type ModoboaPayload,
  OWNERSHIP_FIELD,
  RANK,
  type SourcePos,
} from './model.ts';
import { planAuthentication } from './plan-authentication.ts';
import { DOMAIN_FROM, domainBody, MAILBOX_FROM, mailboxBody, wireDiff, wireOf } from './wire.ts';

const SYSTEM = 'modoboa';
const lc = (s: string) => s.toLowerCase();
const domainOf = (address: string) => address.slice(address.lastIndexOf('@') + 1);

/** How a change reads in the YAML's terms: the API's own fields (`wire`), and the YAML object it serves. */
type ChangeView = Partial<Pick<Change, 'wire' | 'serves'>>;

/** `fields` are the YAML's (`spec.mailbox.quotaMB`); `view.wire` what the API is sent, for `--detail`. */
function change(kind: ModoboaKind, name: string, action: ChangeAction, rank: number, fields: FieldChange[], reason: string, payload: ModoboaPayload, view: ChangeView = {}): Change {
  const prune = 'pruned' in payload && payload.pruned === true;
  const adopt = 'adopt' in payload && payload.adopt === true;
  return { system: SYSTEM, kind, name, key: `${kind}/${name}`, action, prune, adopt, fields, ...view, reason, rank, payload: payload as unknown as Readonly<Record<string, unknown>> };
}

function pos(r: { source: { file: string; line: number; col: number; at: (p: ReadonlyArray<string | number>) => { line: number; col: number } } }, path?: ReadonlyArray<string | number>): SourcePos {
  const at = path ? r.source.at(path) : r.source;
  return { file: r.source.file, line: at.line, col: at.col };
}
const where = (p: SourcePos, field: string) => `${p.file}:${p.line}:${p.col} ${field}`;

function diff<T extends object>(before: T, after: T, paths: Readonly<Record<keyof T & string, string>>): FieldChange[] {
  const out: FieldChange[] = [];
  for (const k of Object.keys(paths) as Array<keyof T & string>) {
    const a = before[k];
    const b = after[k];
    if (JSON.stringify(a) !== JSON.stringify(b)) out.push({ path: paths[k], before: a ?? null, after: b ?? null });
  }
  return out;
}

const DOMAIN_PATHS = { quotaMB: 'spec.quotaMB', defaultMailboxQuotaMB: 'spec.defaultMailboxQuotaMB', enabled: 'spec.enabled' } as const;
const MAILBOX_PATHS = { firstName: 'spec.givenName', lastName: 'spec.surname', enabled: 'spec.enabled', quotaMB: 'spec.mailbox.quotaMB' } as const;
const ALIAS_PATHS = { recipients: 'spec.recipients', enabled: 'spec.enabled' } as const;
/** An extra address of a user's mailbox: it delivers to the user's e-mail, and is on while the user is. */
const EXTRA_ALIAS_PATHS = { recipients: 'spec.email', enabled: 'spec.enabled' } as const;

/** The mailbox values a live account has, in the planner's terms (quota undefined = the domain's default). */
export function liveMailboxValues(a: LiveAccount): MailboxValues {
  return { firstName: a.firstName, lastName: a.lastName, enabled: a.enabled, quotaMB: a.mailbox === null || a.mailbox.useDomainQuota ? undefined : a.mailbox.quotaMB };
}

interface DesiredMailbox {
  readonly user: User;
  readonly address: string;
  readonly values: MailboxValues;
}
interface DesiredAlias {
  readonly address: string;
  readonly values: AliasValues;
  readonly source: SourcePos;
  readonly label: string;
  /** The user whose `spec.mailbox.aliases` lists it; absent for a MailAlias. */
  readonly user?: User;
  /** Its recipients as the YAML spells them (`User/amuller`), by address. */
  readonly spelled: ReadonlyMap<string, string>;
}

export function planModoboa(desired: ResolvedState, live: LiveModoboa, policy: Policy, layout: ModoboaLayout): Plan {
  const changes: Change[] = [];
  const conflicts: Conflict[] = [];
  const conflict = (kind: ModoboaKind, name: string, message: string) => conflicts.push({ system: SYSTEM, kind, name, message });

  const authentication = planAuthentication(layout.authentication, live.authentication);
  if (authentication) changes.push(authentication);

  // ---------- domains ----------
  const domains = new Map<string, MailDomain>();
  for (const d of desired.resources.mailDomains.values()) domains.set(lc(d.metadata.name), d);
  /** Domains whose content infrasec may manage in this pass (created, owned or adopted). */
  const usable = new Set<string>();
  for (const [name, d] of [...domains].sort(([a], [b]) => a.localeCompare(b))) {
    const values: DomainValues = { quotaMB: d.spec.quotaMB, defaultMailboxQuotaMB: d.spec.defaultMailboxQuotaMB, enabled: d.spec.enabled };
    const source = pos(d);
    if (values.quotaMB > 0 && values.defaultMailboxQuotaMB > values.quotaMB) {
      conflict('MailDomain', name, `${where(pos(d, ['spec', 'defaultMailboxQuotaMB']), 'spec.defaultMailboxQuotaMB')}: ${values.defaultMailboxQuotaMB} MB is more than the domain quota of ${values.quotaMB} MB; domain left as it is`);
      if (live.domains.get(name)?.owned) usable.add(name);
      continue;
    }
    const ld = live.domains.get(name);
    if (!ld) {
      usable.add(name);
      changes.push(change('MailDomain', name, 'create', RANK.domain, diff({} as DomainValues, values, DOMAIN_PATHS), 'in Git, not in Modoboa', { op: 'domain.create', name, values, source }, wireOf(wireDiff(undefined, domainBody(values), DOMAIN_FROM))));
      continue;
    }
    const adopt = !ld.owned;
    if (adopt && !adoptable(policy, 'MailDomain', name)) {
      conflict('MailDomain', name, `domain ${name} exists in Modoboa but infrasec does not own it; add MailDomain/${name} to policy.adopt to manage it (its mailboxes and aliases are left alone)`);
      continue;
    }
    usable.add(name);
    const liveValues: DomainValues = { quotaMB: ld.quotaMB, defaultMailboxQuotaMB: ld.defaultMailboxQuotaMB, enabled: ld.enabled };
    const fields = [...takeOverField(ld, layout), ...diff(liveValues, values, DOMAIN_PATHS)];
    if (fields.length > 0 || adopt) {
      const reason = adopt ? 'adopted by policy' : ld.legacyMarker && fields.length === 1 ? takeOverNote(layout) : 'differs from Git';
      changes.push(change('MailDomain', name, 'update', RANK.domain, fields, reason, { op: 'domain.update', pk: ld.pk, name, values, adopt, ...(ld.legacyMarker ? { takeOver: true } : {}), source }, wireOf(wireDiff(domainBody(liveValues), domainBody(values), DOMAIN_FROM))));
    }
  }

  // ---------- mailboxes: one per user whose e-mail is in a managed domain ----------
  const users = [...desired.resources.users.values()].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  const mailboxes = new Map<string, DesiredMailbox>();
  for (const u of users) {
    const email = u.spec.email ? lc(u.spec.email) : undefined;
    if (!email || !domains.has(domainOf(email))) {
      if (u.spec.mailbox) conflict('Mailbox', `User/${u.metadata.name}`, `${where(pos(u, ['spec', 'mailbox']), 'spec.mailbox')}: the user has no e-mail in a declared MailDomain, so no mailbox is made`);
      continue;
    }
    if (!usable.has(domainOf(email))) continue;
    const explicit = u.spec.mailbox?.quotaMB;
    mailboxes.set(email, {
      user: u,
      address: email,
      values: { firstName: u.spec.givenName, lastName: u.spec.surname, enabled: u.spec.enabled, quotaMB: explicit === undefined || explicit === 0 ? undefined : explicit },
    });
  }

  // The domain quota is a pool: what the mailboxes are allocated may not exceed it. Mailboxes infrasec does not
  // manage keep their allocation; desired ones are fitted in name order and those that do not fit are held back here,
  // at plan time, naming the YAML line — Modoboa would refuse them one by one, and a PATCH would not even check.
  const refused = new Set<string>();
  for (const [name, d] of domains) {
    if (!usable.has(name) || d.spec.quotaMB <= 0) continue;
    let used = 0;
    for (const a of live.accounts.values()) if (a.mailbox && domainOf(a.mailbox.address) === name && !mailboxes.has(a.username)) used += a.mailbox.quotaMB;
    for (const m of [...mailboxes.values()].filter((x) => domainOf(x.address) === name)) {
      const quota = m.values.quotaMB ?? d.spec.defaultMailboxQuotaMB;
      if (used + quota > d.spec.quotaMB) {
        refused.add(m.address);
        const p = m.user.spec.mailbox?.quotaMB !== undefined ? where(pos(m.user, ['spec', 'mailbox', 'quotaMB']), 'spec.mailbox.quotaMB') : where(pos(m.user, ['spec', 'email']), 'spec.email');
        conflict(
          'Mailbox',
          m.address,
          `${p}: a ${quota} MB mailbox does not fit the quota of domain ${name} (${d.spec.quotaMB} MB, ${used} MB already allocated; ${pos(d).file}:${pos(d).line}); mailbox left as it is`,
        );
      } else {
        used += quota;
      }
    }
  }

  /** Addresses that will hold a mailbox after this plan (for alias recipients). */
  const mailboxReady = new Set<string>();
  for (const m of mailboxes.values()) {
    if (refused.has(m.address)) {
      if (live.accounts.get(m.address)?.mailbox) mailboxReady.add(m.address);
      continue;
    }
    const source = pos(m.user);
    // A mailbox is no YAML object of its own: it is part of the User whose e-mail it holds.
    const serves = `User/${m.user.metadata.name}`;
    const la = live.accounts.get(m.address);
    if (!la) {
      mailboxReady.add(m.address);
      changes.push(change('Mailbox', m.address, 'create', RANK.mailbox, diff({} as MailboxValues, m.values, MAILBOX_PATHS), `${serves} has this e-mail`, { op: 'mailbox.create', address: m.address, values: m.values, source }, {
        serves, ...wireOf(wireDiff(undefined, mailboxBody(m.values), MAILBOX_FROM)),
      }));
      continue;
    }
    if (la.role !== 'SimpleUsers') {
      conflict('Mailbox', m.address, `${m.address} is the ${la.role} account in Modoboa, not a mailbox user; left alone`);
      if (la.mailbox) mailboxReady.add(m.address);
      continue;
    }
    const adopt = !la.owned;
    if (adopt && !adoptable(policy, 'Mailbox', m.address)) {
      conflict('Mailbox', m.address, `account ${m.address} exists in Modoboa but infrasec does not own it; add Mailbox/${m.address} to policy.adopt to manage it`);
      if (la.mailbox) mailboxReady.add(m.address);
      continue;
    }
    mailboxReady.add(m.address);
    const diffs = diff(liveMailboxValues(la), m.values, MAILBOX_PATHS);
    const fields = [...takeOverField(la, layout), ...diffs];
    if (fields.length === 0 && !adopt) continue;
    const leaver = diffs.length === 1 && diffs[0]!.path === 'spec.enabled' && m.values.enabled === false;
    const reason = adopt ? 'adopted by policy' : leaver ? `User/${m.user.metadata.name} is disabled in Git` : diffs.length === 0 ? takeOverNote(layout) : 'differs from Git';
    changes.push(
      change('Mailbox', m.address, leaver ? 'disable' : 'update', RANK.mailbox, fields, reason, {
        op: 'mailbox.update', pk: la.pk, address: m.address, values: m.values, adopt, ...(la.legacyMarker ? { takeOver: true } : {}), source,
      }, { serves, ...wireOf(wireDiff(mailboxBody(liveMailboxValues(la)), mailboxBody(m.values), MAILBOX_FROM)) }),
    );
  }

  // Owned mailboxes whose user left Git (or lost the e-mail): disabled and kept, or deleted when the settings say so.
  for (const la of [...live.accounts.values()].filter((a) => a.owned && !mailboxes.has(a.username)).sort((a, b) => a.username.localeCompare(b.username))) {
    if (!usable.has(domainOf(la.username)) && domains.has(domainOf(la.username))) continue;
    if (layout.mailboxRemoval === 'delete') {
      changes.push(change('Mailbox', la.username, 'delete', RANK.mailbox, [], 'its user left Git (mailboxRemoval=delete)', { op: 'mailbox.delete', pk: la.pk, address: la.username, pruned: true }));
    } else if (la.enabled) {
      // Its user is no longer in Git, so there is no User to fold it into: it stays a line of its own.
      const values = { ...liveMailboxValues(la), enabled: false };
      changes.push(
        change('Mailbox', la.username, 'disable', RANK.mailbox, [{ path: 'spec.enabled', before: true, after: false }], 'its user left Git (mailbox kept, account disabled)', {
          op: 'mailbox.update', pk: la.pk, address: la.username, values, adopt: false, pruned: true,
        }, wireOf(wireDiff(mailboxBody(liveMailboxValues(la)), mailboxBody(values), MAILBOX_FROM))),
      );
    }
  }

  // ---------- aliases: functional ones from MailAlias, then users' extra addresses ----------
  const userByName = new Map(users.map((u) => [lc(u.metadata.name), u]));
  const aliases = new Map<string, DesiredAlias>();
  for (const a of [...desired.resources.mailAliases.values()].sort((x, y) => x.metadata.name.localeCompare(y.metadata.name))) {
    const address = lc(a.spec.address);
    if (!domains.has(domainOf(address))) {
      conflict('MailAlias', address, `${where(pos(a, ['spec', 'address']), 'spec.address')}: ${address} is not in a declared MailDomain; alias not made`);
      continue;
    }
    if (!usable.has(domainOf(address))) continue;
    const recipients = resolveRecipients(a, userByName, mailboxes, mailboxReady, domains, conflict);
    const spelled = new Map<string, string>();
    for (const r of a.spec.recipients) {
      const email = r.startsWith('User/') ? userByName.get(lc(r.slice(5)))?.spec.email : r;
      if (email) spelled.set(lc(email), r);
    }
    aliases.set(address, { address, values: { recipients, enabled: a.spec.enabled }, source: pos(a), label: `MailAlias/${a.metadata.name}`, spelled });
  }
  for (const m of mailboxes.values()) {
    for (const extra of m.user.spec.mailbox?.aliases ?? []) {
      const address = lc(extra);
      if (aliases.has(address)) {
        conflict('MailAlias', address, `${where(pos(m.user, ['spec', 'mailbox', 'aliases']), 'spec.mailbox.aliases')}: ${address} is also a MailAlias; the MailAlias wins`);
        continue;
      }
      if (!domains.has(domainOf(address)) || !usable.has(domainOf(address)) || !mailboxReady.has(m.address)) {
        if (!domains.has(domainOf(address))) conflict('MailAlias', address, `${where(pos(m.user, ['spec', 'mailbox', 'aliases']), 'spec.mailbox.aliases')}: ${address} is not in a declared MailDomain`);
        continue;
      }
      if (mailboxes.has(address) || live.accounts.get(address)?.mailbox) {
        conflict('MailAlias', address, `${where(pos(m.user, ['spec', 'mailbox', 'aliases']), 'spec.mailbox.aliases')}: ${address} is a mailbox; not made an alias`);
        continue;
      }
      aliases.set(address, {
        address, values: { recipients: [m.address], enabled: m.values.enabled }, source: pos(m.user, ['spec', 'mailbox', 'aliases']), label: `User/${m.user.metadata.name}`, user: m.user, spelled: new Map(),
      });
    }
  }

  /** A user's e-mail → `User/name`, the YAML's way to name a recipient. */
  const userByEmail = new Map(users.filter((u) => u.spec.email).map((u) => [lc(u.spec.email!), `User/${u.metadata.name}`]));
  for (const a of [...aliases.values()].sort((x, y) => x.address.localeCompare(y.address))) {
    const la = live.aliases.get(a.address);
    let values = a.values;
    if (values.recipients.length === 0) {
      // Every recipient left: Modoboa refuses an alias without recipients, so the alias is disabled as it stands.
      if (!la) {
        conflict('MailAlias', a.address, `${a.source.file}:${a.source.line}: none of its recipients has a mailbox; alias not made`);
        continue;
      }
      conflict('MailAlias', a.address, `${a.source.file}:${a.source.line}: none of its recipients is active any more; the alias is disabled`);
      values = { recipients: la.recipients, enabled: false };
    }
    if (!la) {
      const v = aliasView(a, 'create', undefined, values, userByEmail);
      changes.push(change('MailAlias', a.address, 'create', RANK.alias, v.fields, `${a.label} is in Git`, { op: 'alias.create', address: a.address, values, source: a.source }, v.view));
      continue;
    }
    const adopt = !la.owned;
    if (adopt && !adoptable(policy, 'MailAlias', a.address)) {
      conflict('MailAlias', a.address, `alias ${a.address} exists in Modoboa but infrasec does not own it; add MailAlias/${a.address} to policy.adopt to manage it`);
      continue;
    }
    const liveValues: AliasValues = { recipients: la.recipients, enabled: la.enabled };
    const diffs = diff(liveValues, values, ALIAS_PATHS);
    if (diffs.length === 0 && !adopt && !la.legacyMarker) continue;
    const action: ChangeAction = diffs.length === 1 && diffs[0]!.path === 'spec.enabled' && !values.enabled ? 'disable' : 'update';
    const v = aliasView(a, action, liveValues, values, userByEmail);
    const reason = adopt ? 'adopted by policy' : diffs.length === 0 ? takeOverNote(layout) : 'differs from Git';
    changes.push(change('MailAlias', a.address, action, RANK.alias, [...takeOverField(la, layout), ...v.fields], reason, { op: 'alias.update', pk: la.pk, address: a.address, values, adopt, source: a.source }, v.view));
  }
  for (const la of [...live.aliases.values()].filter((x) => x.owned && !aliases.has(x.address)).sort((x, y) => x.address.localeCompare(y.address))) {
    if (domains.has(domainOf(la.address)) && !usable.has(domainOf(la.address))) continue;
    changes.push(change('MailAlias', la.address, 'delete', RANK.alias, [], 'removed from Git', { op: 'alias.delete', pk: la.pk, address: la.address, pruned: true }));
  }

  for (const ld of [...live.domains.values()].filter((d) => d.owned && !domains.has(d.name)).sort((a, b) => a.name.localeCompare(b.name))) {
    changes.push(change('MailDomain', ld.name, 'delete', RANK.domain, [], 'removed from Git', { op: 'domain.delete', pk: ld.pk, name: ld.name, pruned: true }));
  }

  const note = takeOverSummary(live, layout);
  if (note) conflicts.push(note);
  const ownedCount =
    [...live.domains.values()].filter((d) => d.owned).length + [...live.accounts.values()].filter((a) => a.owned).length + [...live.aliases.values()].filter((a) => a.owned).length;
  return { system: SYSTEM, changes, conflicts, ownedCount };
}

/**
 * An alias change in the YAML's terms: a MailAlias's recipients spelled as its YAML spells them (`User/amuller`); a
 * user's extra address is part of that User (its `spec.mailbox.aliases`). The API's fields go to `wire`.
 */
function aliasView(a: DesiredAlias, action: ChangeAction, before: AliasValues | undefined, after: AliasValues, userByEmail: ReadonlyMap<string, string>): { fields: FieldChange[]; view: ChangeView } {
  const from = a.user ? EXTRA_ALIAS_PATHS : ALIAS_PATHS;
  const wire = diff(before ?? ({} as AliasValues), after, { recipients: 'recipients', enabled: 'enabled' }).map((f) => ({ ...f, from: from[f.path as keyof AliasValues] }));
  if (a.user) {
    const fields = action === 'create' ? [{ path: 'spec.mailbox.aliases', before: null, after: a.address }] : diff(before!, after, EXTRA_ALIAS_PATHS);
    return { fields, view: { serves: `User/${a.user.metadata.name}`, ...wireOf(wire) } };
  }
  const yaml = (v: AliasValues) => ({ ...v, recipients: v.recipients.map((r) => a.spelled.get(r) ?? userByEmail.get(r) ?? r) });
  return { fields: diff(before ? yaml(before) : ({} as AliasValues), yaml(after), ALIAS_PATHS), view: wireOf(wire) };
}

/** `User/x` → x's mailbox address (dropped while x is disabled: a leaver leaves every alias), e-mail addresses as written. */
function resolveRecipients(
  a: MailAlias,
  users: ReadonlyMap<string, User>,
  mailboxes: ReadonlyMap<string, DesiredMailbox>,
  ready: ReadonlySet<string>,
  domains: ReadonlyMap<string, MailDomain>,
  conflict: (kind: ModoboaKind, name: string, message: string) => void,
): string[] {
  const out = new Set<string>();
  a.spec.recipients.forEach((r, i) => {
    const at = () => where(pos(a, ['spec', 'recipients', i]), `spec.recipients[${i}]`);
    if (r.startsWith('User/')) {
      const u = users.get(lc(r.slice(5)));
      if (!u) return conflict('MailAlias', lc(a.spec.address), `${at()}: ${r} is not defined`);
      if (!u.spec.enabled) return; // leaver
      const email = u.spec.email ? lc(u.spec.email) : undefined;
      if (!email) return conflict('MailAlias', lc(a.spec.address), `${at()}: ${r} has no e-mail`);
      if (domains.has(domainOf(email)) && !ready.has(email)) {
        return conflict('MailAlias', lc(a.spec.address), `${at()}: ${r} has no mailbox yet (${mailboxes.has(email) ? 'held back' : 'not managed'}); left out of the alias`);
      }
      out.add(email);
      return;
    }
    const address = lc(r);
    if (domains.has(domainOf(address)) && !ready.has(address)) {
      // A local recipient Modoboa does not know makes it answer 404; only mailboxes are checked here.
      return conflict('MailAlias', lc(a.spec.address), `${at()}: ${address} is in a managed domain but is not a mailbox; left out of the alias`);
    }
    out.add(address);
  });
  return [...out].sort();
}

// ---------- objects of the earlier default instance, taken over ----------

/** The `ownership` field of an object this instance takes over from the earlier default instance; none otherwise. */
function takeOverField(o: { readonly legacyMarker?: boolean }, layout: ModoboaLayout): FieldChange[] {
  return o.legacyMarker ? [{ path: OWNERSHIP_FIELD, before: `instance ${layout.earlierInstance}`, after: `instance ${layout.instance}` }] : [];
}

function takeOverNote(layout: ModoboaLayout): string {
  return `owned by instance "${layout.earlierInstance}", the default name of earlier versions; taken over by instance "${layout.instance}" (systems.modoboa.instance is unset)`;
}

/** One note per plan naming what this instance takes over from the earlier default instance (aliases only inside its own domains). */
function takeOverSummary(live: LiveModoboa, layout: ModoboaLayout): Conflict | undefined {
  const taken = [
    ...[...live.domains.values()].filter((d) => d.legacyMarker).map((d) => `MailDomain/${d.name}`),
    ...[...live.accounts.values()].filter((a) => a.legacyMarker).map((a) => `Mailbox/${a.username}`),
    ...[...live.aliases.values()].filter((a) => a.legacyMarker).map((a) => `MailAlias/${a.address}`),
  ];
  if (taken.length === 0) return undefined;
  const named = taken.length > 10 ? `${taken.slice(0, 10).join(', ')} and ${taken.length - 10} more` : taken.join(', ');
  return {
    system: SYSTEM, kind: 'Instance', name: layout.instance, advisory: true,
    message: `${taken.length} object(s) ${takeOverNote(layout)}: ${named}. Set systems.modoboa.instance to "${layout.earlierInstance}" to keep the old name instead`,
  };
}
