// Table-driven tests of the pure Modoboa planner: desired + live → changes and conflicts.
import { describe, expect, it } from 'vitest';
import type { Plan } from '../../../src/engine/types.ts';
import type { ModoboaLayout } from '../../../src/reconcilers/modoboa/model.ts';
import { planModoboa } from '../../../src/reconcilers/modoboa/plan.ts';
import { DOMAIN, INSTANCE, live, liveAccount, liveAlias, liveDomain, mailAlias, mailDomain, policy, state, user } from './desired-builder.ts';

const KEEP: ModoboaLayout = { instance: INSTANCE, mailboxRemoval: 'keep' };
const at = (local: string) => `${local}@${DOMAIN}`;
/** `action Kind/name → served object [YAML fields]`. */
const summary = (p: Plan) => p.changes.map((c) => `${c.action} ${c.kind}/${c.name}${c.serves ? ` → ${c.serves}` : ''}${c.fields.length ? ` [${c.fields.map((f) => f.path).join(',')}]` : ''}`);

const team = [user('amuller'), user('tkoenig')];
const inSync = () =>
  live({
    domains: [liveDomain()],
    accounts: [liveAccount('amuller'), liveAccount('tkoenig')],
    aliases: [liveAlias('salle-crise', [at('amuller'), at('tkoenig')])],
  });
const desiredTeam = (over: { users?: ReturnType<typeof user>[]; aliases?: ReturnType<typeof mailAlias>[] } = {}) =>
  state({ domains: [mailDomain()], users: over.users ?? team, aliases: over.aliases ?? [mailAlias('salle-crise', ['User/amuller', 'User/tkoenig'])] });

describe('planModoboa', () => {
  it.each([
    {
      name: 'creates domain, mailboxes and aliases on an empty Modoboa, in dependency ranks',
      desired: desiredTeam(),
      live: live(),
      expected: ['create MailDomain/cod67.example.fr [spec.quotaMB,spec.defaultMailboxQuotaMB,spec.enabled]', `create Mailbox/${at('amuller')} → User/amuller [spec.givenName,spec.surname,spec.enabled]`, `create Mailbox/${at('tkoenig')} → User/tkoenig [spec.givenName,spec.surname,spec.enabled]`, `create MailAlias/${at('salle-crise')} [spec.recipients,spec.enabled]`],
    },
    { name: 'plans nothing when Modoboa matches Git', desired: desiredTeam(), live: inSync(), expected: [] },
    {
      name: 'corrects a quota changed by hand',
      desired: desiredTeam(),
      live: live({ domains: [liveDomain()], accounts: [liveAccount('amuller', { quotaMB: 50 }), liveAccount('tkoenig')], aliases: [liveAlias('salle-crise', [at('amuller'), at('tkoenig')])] }),
      expected: [`update Mailbox/${at('amuller')} → User/amuller [spec.mailbox.quotaMB]`],
    },
    {
      name: 'removes a recipient added by hand',
      desired: desiredTeam(),
      live: live({ domains: [liveDomain()], accounts: [liveAccount('amuller'), liveAccount('tkoenig')], aliases: [liveAlias('salle-crise', [at('amuller'), at('tkoenig'), 'intrus@ailleurs.fr'])] }),
      expected: [`update MailAlias/${at('salle-crise')} [spec.recipients]`],
    },
    {
      name: 'recreates an owned alias deleted by hand',
      desired: desiredTeam(),
      live: live({ domains: [liveDomain()], accounts: [liveAccount('amuller'), liveAccount('tkoenig')] }),
      expected: [`create MailAlias/${at('salle-crise')} [spec.recipients,spec.enabled]`],
    },
    {
      name: 'disables a leaver and takes them out of every functional alias in the same plan',
      desired: desiredTeam({ users: [user('amuller', { enabled: false }), user('tkoenig')] }),
      live: inSync(),
      expected: [`disable Mailbox/${at('amuller')} → User/amuller [spec.enabled]`, `update MailAlias/${at('salle-crise')} [spec.recipients]`],
    },
    {
      name: 'disables again an account re-enabled by hand',
      desired: desiredTeam({ users: [user('amuller', { enabled: false }), user('tkoenig')] }),
      live: live({ domains: [liveDomain()], accounts: [liveAccount('amuller'), liveAccount('tkoenig')], aliases: [liveAlias('salle-crise', [at('tkoenig')])] }),
      expected: [`disable Mailbox/${at('amuller')} → User/amuller [spec.enabled]`],
    },
    {
      name: 'disables an alias whose every recipient left (Modoboa refuses an empty one)',
      desired: desiredTeam({ users: [user('amuller', { enabled: false }), user('tkoenig', { enabled: false })] }),
      live: inSync(),
      expected: [`disable Mailbox/${at('amuller')} → User/amuller [spec.enabled]`, `disable Mailbox/${at('tkoenig')} → User/tkoenig [spec.enabled]`, `disable MailAlias/${at('salle-crise')} [spec.enabled]`],
      conflicts: [/mail\/aliases\.yaml:3: none of its recipients is active any more; the alias is disabled/],
    },
    {
      name: 'keeps an owned mailbox whose user left Git, disabled (pruned, so held unless pruning is on)',
      desired: desiredTeam({ users: [user('amuller')], aliases: [mailAlias('salle-crise', ['User/amuller'])] }),
      live: live({ domains: [liveDomain()], accounts: [liveAccount('amuller'), liveAccount('tkoenig')], aliases: [liveAlias('salle-crise', [at('amuller')])] }),
      expected: [`disable Mailbox/${at('tkoenig')} [spec.enabled]`],
    },
    {
      name: 'deletes an owned alias removed from Git',
      desired: desiredTeam({ aliases: [] }),
      live: inSync(),
      expected: [`delete MailAlias/${at('salle-crise')}`],
    },
    {
      name: 'makes an alias of each extra address of a mailbox',
      desired: desiredTeam({ users: [user('amuller', { mailbox: { aliases: [at('direction')] } }), user('tkoenig')] }),
      live: inSync(),
      expected: [`create MailAlias/${at('direction')} → User/amuller [spec.mailbox.aliases]`],
    },
    {
      name: 'leaves alone what it does not own and is not in Git',
      desired: desiredTeam(),
      live: live({ domains: [liveDomain(), liveDomain('autre.fr', { owned: false })], accounts: [liveAccount('amuller'), liveAccount('tkoenig'), liveAccount('stranger', { owned: false })], aliases: [liveAlias('salle-crise', [at('amuller'), at('tkoenig')]), liveAlias('manual', [at('stranger')], { owned: false, description: '' })] }),
      expected: [],
    },
    {
      name: 'adopts an unowned domain listed in policy.adopt (no field write, inventory only)',
      desired: desiredTeam(),
      live: live({ domains: [liveDomain(DOMAIN, { owned: false })], accounts: [liveAccount('amuller'), liveAccount('tkoenig')], aliases: [liveAlias('salle-crise', [at('amuller'), at('tkoenig')])] }),
      policy: policy({ adopt: [`MailDomain/${DOMAIN}`] }),
      expected: [`update MailDomain/${DOMAIN}`],
    },
  ] as Array<{ name: string; desired: ReturnType<typeof state>; live: ReturnType<typeof live>; expected: string[]; policy?: ReturnType<typeof policy>; conflicts?: RegExp[] }>)('$name', ({ desired, live: l, expected, policy: pol, conflicts }) => {
    const plan = planModoboa(desired, l, pol ?? policy(), KEEP);
    expect(summary(plan)).toEqual(expected);
    expect(plan.conflicts.map((c) => c.message)).toEqual((conflicts ?? []).map((r) => expect.stringMatching(r)));
  });

  it('deletes the mailbox of a user that left Git only when mailboxRemoval is delete', () => {
    const desired = desiredTeam({ users: [user('amuller')], aliases: [mailAlias('salle-crise', ['User/amuller'])] });
    const l = live({ domains: [liveDomain()], accounts: [liveAccount('amuller'), liveAccount('tkoenig')], aliases: [liveAlias('salle-crise', [at('amuller')])] });
    const plan = planModoboa(desired, l, policy(), { instance: INSTANCE, mailboxRemoval: 'delete' });
    expect(summary(plan)).toEqual([`delete Mailbox/${at('tkoenig')}`]);
    expect(plan.changes[0]!.prune).toBe(true);
  });

  it.each([
    { kind: 'MailDomain', live: live({ domains: [liveDomain(DOMAIN, { owned: false })] }), message: /domain cod67\.example\.fr exists in Modoboa but infrasec does not own it/ },
    { kind: 'Mailbox', live: live({ domains: [liveDomain()], accounts: [liveAccount('amuller', { owned: false }), liveAccount('tkoenig')] }), message: /account amuller@cod67\.example\.fr exists in Modoboa but infrasec does not own it/ },
    { kind: 'MailAlias', live: live({ domains: [liveDomain()], accounts: [liveAccount('amuller'), liveAccount('tkoenig')], aliases: [liveAlias('salle-crise', ['x@y.fr'], { owned: false, description: 'by hand' })] }), message: /alias salle-crise@cod67\.example\.fr exists in Modoboa but infrasec does not own it/ },
  ])('reports an unowned $kind namesake as a conflict and does not touch it', ({ kind, live: l, message }) => {
    const plan = planModoboa(desiredTeam(), l, policy(), KEEP);
    expect(plan.conflicts.map((c) => c.kind)).toEqual([kind]);
    expect(plan.conflicts[0]!.message).toMatch(message);
    expect(plan.changes.filter((c) => c.kind === kind)).toEqual([]);
  });

  it('holds back, at plan time, a mailbox whose quota does not fit the domain pool, naming the YAML file and line', () => {
    const desired = state({
      domains: [mailDomain(DOMAIN, { quotaMB: 3000, defaultMailboxQuotaMB: 1000 })],
      users: [user('amuller', { mailbox: { quotaMB: 1500 } }), user('tkoenig', { mailbox: { quotaMB: 1000 } }), user('zlast', { mailbox: { quotaMB: 800 } })],
    });
    const plan = planModoboa(desired, live({ domains: [liveDomain(DOMAIN, { quotaMB: 3000 })] }), policy(), KEEP);
    expect(summary(plan)).toEqual([`create Mailbox/${at('amuller')} → User/amuller [spec.givenName,spec.surname,spec.enabled,spec.mailbox.quotaMB]`, `create Mailbox/${at('tkoenig')} → User/tkoenig [spec.givenName,spec.surname,spec.enabled,spec.mailbox.quotaMB]`]);
    expect(plan.conflicts).toHaveLength(1);
    expect(plan.conflicts[0]!.name).toBe(at('zlast'));
    // users/zlast.yaml, line 10 + depth of spec.mailbox.quotaMB (3) in the builder's positions.
    expect(plan.conflicts[0]!.message).toMatch(/^users\/zlast\.yaml:13:5 spec\.mailbox\.quotaMB: a 800 MB mailbox does not fit the quota of domain cod67\.example\.fr \(3000 MB, 2500 MB already allocated; mail\/domain\.yaml:3\)/);
  });

  it('counts mailboxes it does not manage against the pool', () => {
    const desired = state({ domains: [mailDomain(DOMAIN, { quotaMB: 2000, defaultMailboxQuotaMB: 1000 })], users: [user('amuller')] });
    const plan = planModoboa(desired, live({ domains: [liveDomain(DOMAIN, { quotaMB: 2000 })], accounts: [liveAccount('stranger', { owned: false, quotaMB: 1500 })] }), policy(), KEEP);
    expect(plan.changes).toEqual([]);
    expect(plan.conflicts[0]!.message).toMatch(/users\/amuller\.yaml:\d+:\d+ spec\.email: a 1000 MB mailbox does not fit .* 1500 MB already allocated/);
  });

  it('refuses a default mailbox quota above the domain quota with the line of the field', () => {
    const plan = planModoboa(state({ domains: [mailDomain(DOMAIN, { quotaMB: 100, defaultMailboxQuotaMB: 200 })] }), live(), policy(), KEEP);
    expect(plan.changes).toEqual([]);
    expect(plan.conflicts[0]!.message).toMatch(/^mail\/domain\.yaml:12:5 spec\.defaultMailboxQuotaMB: 200 MB is more than the domain quota of 100 MB/);
  });

  it('keeps external recipients and drops local addresses that are not mailboxes, saying so', () => {
    const desired = desiredTeam({ aliases: [mailAlias('prefecture', ['User/amuller', 'Cabinet@Prefecture67.example.fr', `ghost@${DOMAIN}`])] });
    const plan = planModoboa(desired, inSync(), policy(), KEEP);
    const create = plan.changes.find((c) => c.name === at('prefecture'))!;
    expect((create.payload as { values: { recipients: string[] } }).values.recipients).toEqual([at('amuller'), 'cabinet@prefecture67.example.fr']);
    expect(plan.conflicts.map((c) => c.message)).toEqual([expect.stringMatching(/spec\.recipients\[2\]: ghost@cod67\.example\.fr is in a managed domain but is not a mailbox/)]);
  });

  it('a mailbox quota changed in the YAML is part of the User, as spec.mailbox.quotaMB, the account fields behind it', () => {
    const desired = desiredTeam({ users: [user('amuller', { mailbox: { quotaMB: 4096 } }), user('tkoenig')] });
    const plan = planModoboa(desired, inSync(), policy(), KEEP);
    expect(plan.changes.map((c) => ({ key: c.key, serves: c.serves, fields: c.fields, wire: c.wire }))).toEqual([{
      key: `Mailbox/${at('amuller')}`,
      serves: 'User/amuller',
      fields: [{ path: 'spec.mailbox.quotaMB', before: null, after: 4096 }],
      wire: [
        { path: 'mailbox.use_domain_quota', before: true, after: false, from: 'spec.mailbox.quotaMB' },
        { path: 'mailbox.quota', before: null, after: '4096', from: 'spec.mailbox.quotaMB' },
      ],
    }]);
  });

  it('names alias recipients as the YAML does (User/…), the addresses Modoboa holds behind them', () => {
    const plan = planModoboa(desiredTeam({ users: [user('amuller', { enabled: false }), user('tkoenig')] }), inSync(), policy(), KEEP);
    const alias = plan.changes.find((c) => c.kind === 'MailAlias')!;
    expect(alias.fields).toEqual([{ path: 'spec.recipients', before: ['User/amuller', 'User/tkoenig'], after: ['User/tkoenig'] }]);
    expect(alias.wire).toEqual([{ path: 'recipients', before: [at('amuller'), at('tkoenig')], after: [at('tkoenig')], from: 'spec.recipients' }]);
    expect(alias.serves).toBeUndefined();
  });

  it('a domain quota change names the YAML field, Modoboa\'s field behind it', () => {
    const plan = planModoboa(state({ domains: [mailDomain(DOMAIN, { quotaMB: 204800 })] }), live({ domains: [liveDomain()] }), policy(), KEEP);
    expect(plan.changes.map((c) => [c.fields, c.wire])).toEqual([[
      [{ path: 'spec.quotaMB', before: 10_000, after: 204800 }],
      [{ path: 'quota', before: '10000', after: '204800', from: 'spec.quotaMB' }],
    ]]);
  });

  it('counts what it owns for the deletion threshold', () => {
    expect(planModoboa(desiredTeam(), inSync(), policy(), KEEP).ownedCount).toBe(4);
  });
});
