import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { KINDS, type Kind } from '../../src/desired/model.ts';
import { SCHEMA_DIR, sensitivePaths, validateAgainstSchema } from '../../src/desired/schema.ts';

const schemaOf = (file: string) => JSON.parse(readFileSync(join(SCHEMA_DIR, file), 'utf8')) as Record<string, unknown>;
const doc = (kind: Kind, spec: Record<string, unknown>, name = 'x') => ({ apiVersion: 'infrasec/v1', kind, metadata: { name }, spec });
const issues = (kind: Kind, spec: Record<string, unknown>, name?: string) =>
  validateAgainstSchema(kind, doc(kind, spec, name)).map((i) => `${i.path.join('.')} [${i.code}]`);

const user = { givenName: 'Jean', surname: 'Dupont' };
const ext = { number: '200', callerIdName: 'Jean', secret: { generate: true } };
const AGE = '-----BEGIN AGE ENCRYPTED FILE-----\nYWdlLWVuY3J5cHRpb24ub3JnL3YxCg==\n-----END AGE ENCRYPTED FILE-----\n';

describe('sensitivePaths', () => {
  it('lists exactly the fields marked x-sensitive, per kind', () => {
    expect(Object.fromEntries(sensitivePaths())).toEqual({
      User: ['spec.password'],
      Group: [],
      Extension: ['spec.secret', 'spec.voicemail.pin'],
      Conference: ['spec.userPin', 'spec.leaderPin'],
      VpnProfile: [],
      FirewallAlias: [],
      FirewallRule: [],
      PortForward: [],
      MailDomain: [],
      MailAlias: [],
    });
  });
});

describe('validateAgainstSchema', () => {
  describe('secrets', () => {
    it.each([
      ['a generated value', { generate: true }],
      ['a generated PIN', { generate: true, length: 6, charset: 'digits' }],
      ['an age ciphertext', { encrypted: AGE }],
    ])('accepts %s', (_what, password) => {
      expect(issues('User', { ...user, password })).toEqual([]);
    });

    it.each([
      ['a plain string', 'Tr0ub4dor&3'],
      ['a number', 1234],
      ['a list', ['Tr0ub4dor&3']],
      ['plaintext under another key', { value: 'Tr0ub4dor&3' }],
      ['an encrypted value that is not age armor', { encrypted: 'Tr0ub4dor&3' }],
      ['age armor with a plaintext line', { encrypted: AGE.replace('YWdl', 'Tr0ub4dor&3 ') }],
      ['both encrypted and generate', { encrypted: AGE, generate: true }],
      ['generate false', { generate: false }],
      ['a generated length too short to be safe', { generate: true, length: 2 }],
    ])('refuses %s as a password with one secret-invalid, whatever the shape', (_what, password) => {
      expect(issues('User', { ...user, password })).toEqual(['spec.password [secret-invalid]']);
    });

    it.each([
      ['Extension', 'spec.secret', { ...ext, secret: 'sip-plain' }],
      ['Extension', 'spec.voicemail.pin', { ...ext, voicemail: { enabled: true, pin: '1234' } }],
      ['Conference', 'spec.userPin', { number: '25', title: 'Reunion', userPin: 1234 }],
      ['Conference', 'spec.leaderPin', { number: '25', title: 'Reunion', leaderPin: '987654' }],
    ] as const)('refuses a plaintext %s %s', (kind, path, spec) => {
      expect(issues(kind, spec)).toEqual([`${path} [secret-invalid]`]);
    });

    it('never puts the refused value in the message', () => {
      const found = validateAgainstSchema('User', doc('User', { ...user, password: { encrypted: 'S3CRET-wrong-shape' } }));
      expect(JSON.stringify(found)).not.toContain('S3CRET');
    });
  });

  describe('names', () => {
    it.each([
      ['an LDAP DN', 'cn=x,dc=evil'],
      ['an LDAP filter', '*)(uid=*'],
      ['an escaped NUL', 'x\\00'],
      ['upper case', 'JDupont'],
      ['a leading dash', '-x'],
      ['a trailing dot', 'x.'],
      ['a space', 'j dupont'],
      ['a slash', 'a/b'],
      ['an empty name', ''],
    ])('refuses %s as an object name', (_what, name) => {
      expect(issues('Group', {}, name)).toEqual(['metadata.name [value-invalid]']);
    });

    it('refuses names above 63 characters', () => {
      expect(issues('Group', {}, 'a'.repeat(64))).toContain('metadata.name [schema-maxLength]');
      expect(issues('Group', {}, 'a'.repeat(63))).toEqual([]);
    });

    it('refuses account names above the 20 characters of sAMAccountName', () => {
      expect(issues('User', user, 'a'.repeat(21))).toContain('metadata.name [schema-maxLength]');
      expect(issues('User', user, 'a'.repeat(20))).toEqual([]);
    });

    it.each([
      ['a user group', 'User', { ...user, groups: ['cn=admins,dc=evil'] }, 'spec.groups.0'],
      ['a group member', 'Group', { members: ['User/*)(uid=*'] }, 'spec.members.0'],
      ['an extension owner', 'Extension', { ...ext, owner: 'x)(objectClass=*' }, 'spec.owner'],
      ['a VPN user', 'VpnProfile', { user: 'a,ou=x', server: 'rw', tunnelNetwork: '10.8.0.0/24' }, 'spec.user'],
      ['a rule alias', 'FirewallRule', { interface: 'wan', action: 'pass', source: { alias: 'a b' }, destination: { any: true }, order: 1 }, 'spec.source.alias'],
    ] as const)('refuses an injection-shaped name in %s', (_what, kind, spec, path) => {
      expect(issues(kind, spec)).toEqual([`${path} [value-invalid]`]);
    });

    it('explains the name pattern in words', () => {
      const [issue] = validateAgainstSchema('Group', doc('Group', {}, 'cn=x,dc=evil'));
      expect(issue!.message).toBe('must be lower-case letters, digits, ".", "_" or "-", starting and ending with a letter or digit');
    });
  });

  describe('Asterisk-bound text', () => {
    it.each([';', '[', ']', '"', '<', '>', '\\'])('refuses %j in a callerIdName and a conference title', (ch) => {
      expect(issues('Extension', { ...ext, callerIdName: `Bob${ch}x` })).toEqual(['spec.callerIdName [value-invalid]']);
      expect(issues('Conference', { number: '25', title: `Room${ch}x` })).toEqual(['spec.title [value-invalid]']);
    });

    it('says which characters are refused and why', () => {
      const [issue] = validateAgainstSchema('Extension', doc('Extension', { ...ext, callerIdName: 'a;b' }));
      expect(issue!.message).toBe('must not contain control characters or ; " < > [ ] \\ (they have a meaning in Asterisk configuration)');
    });

    it("accepts accents, apostrophes and parentheses, which a French caller ID needs", () => {
      expect(issues('Extension', { ...ext, callerIdName: "Cellule d'appui (opérations)" })).toEqual([]);
    });
  });

  it.each([
    ['an unknown field', 'Group', { colour: 'red' }, 'spec.colour [field-unknown]'],
    ['a missing required field', 'User', { givenName: 'Jean' }, 'spec.surname [field-required]'],
    ['a wrong enum value', 'FirewallRule', { interface: 'wan3', action: 'pass', source: { any: true }, destination: { any: true }, order: 1 }, 'spec.interface [schema-enum]'],
    ['two endpoint forms at once', 'FirewallRule', { interface: 'wan', action: 'pass', source: { any: true, alias: 'x' }, destination: { any: true }, order: 1 }, 'spec.source [schema-maxProperties]'],
    ['a CIDR with letters', 'VpnProfile', { user: 'a', server: 'rw', tunnelNetwork: '10.8.0.x/24' }, 'spec.tunnelNetwork [value-invalid]'],
    ['a port with letters', 'PortForward', { interface: 'wan', externalPort: 'https', target: '172.16.50.10', targetPort: '443' }, 'spec.externalPort [value-invalid]'],
    ['an invalid IPv4 target', 'PortForward', { interface: 'wan', externalPort: '443', target: '172.16.50.300', targetPort: '443' }, 'spec.target [value-invalid]'],
    ['an extension number with letters', 'Extension', { ...ext, number: '20a' }, 'spec.number [value-invalid]'],
    ['an e-mail without a domain', 'MailAlias', { address: 'astreinte@', recipients: ['User/a'] }, 'spec.address [value-invalid]'],
  ] as const)('reports %s with its own code', (_what, kind, spec, expected) => {
    // One field can break two rules (format and pattern); every finding is about that field, with that code.
    expect(new Set(issues(kind, spec))).toEqual(new Set([expected]));
  });

  it('quotes an unknown field name so control characters in it stay escaped', () => {
    const [issue] = validateAgainstSchema('Group', doc('Group', { 'x\r\nAction: Originate': 1 }));
    expect(issue!.message).toBe('unknown field "x\\r\\nAction: Originate"');
  });

  describe('says what to change', () => {
    const found = (kind: Kind, document: unknown, sourceOf?: (path: ReadonlyArray<string | number>) => string | undefined) =>
      validateAgainstSchema(kind, document, sourceOf).map((i) => `${i.path.join('.')} [${i.code}] ${i.message}`);

    it.each([
      ['a misspelt field, and not the required field it stands for', 'User', { givenNmae: 'Marie', surname: 'L' }, ['spec.givenNmae [field-unknown] unknown field "givenNmae"; did you mean "givenName"?']],
      ['a field in the wrong case', 'Group', { Description: 'x' }, ['spec.Description [field-unknown] unknown field "Description"; did you mean "description"?']],
      ['a misspelt field of metadata', 'Group', {}, ['metadata.lables [field-unknown] unknown field "lables"; did you mean "labels"?'], { name: 'g', lables: {} }],
      ['a misspelt field of a generated secret', 'Extension', { ...ext, secret: { generate: true, lenght: 8 } }, ['spec.secret.lenght [field-unknown] unknown field "lenght"; did you mean "length"?']],
      ['a field that belongs one level deeper', 'User', { ...user, mailbox: { quotaMB: 1 }, aliases: ['a@b.c'] }, ['spec.aliases [field-unknown] unknown field "aliases"; it belongs under "mailbox": indent it one level deeper, below mailbox:']],
      ['a required field one level too deep, and not as missing', 'User', { givenName: 'Jean', mailbox: { surname: 'Dupont' } }, ['spec.mailbox.surname [field-unknown] unknown field "surname"; it belongs one level up, beside "mailbox": indent it less']],
      ['an unknown field far from every allowed one', 'Group', { colour: 'red' }, ['spec.colour [field-unknown] unknown field "colour"']],
      ['a number where a whole number is written in quotes', 'Extension', { ...ext, maxContacts: '2' }, ['spec.maxContacts [schema-type] must be a whole number; remove the quotes']],
      ['true or false written in quotes', 'Extension', { ...ext, nat: 'true' }, ['spec.nat [schema-type] must be true or false; remove the quotes']],
      ['one value where a list is expected', 'User', { ...user, groups: 'ops' }, ['spec.groups [schema-type] must be a list: [a, b] or one "- item" line per item']],
      ['a value where a mapping is expected', 'Extension', { ...ext, voicemail: 3 }, ['spec.voicemail [schema-type] must be a mapping of fields (name: value)']],
      ['an empty field where a string is expected', 'Extension', { ...ext, callerIdName: null }, ['spec.callerIdName [schema-type] must be a string; the field is empty']],
    ] as const)('for %s', (_what, kind, spec, expected, metadata?: Record<string, unknown>) => {
      expect(found(kind, { ...doc(kind, spec), ...(metadata ? { metadata } : {}) })).toEqual(expected);
    });

    it('tells to quote a number where a string is expected, as it was written (0201, not 201)', () => {
      const sourceOf = (path: ReadonlyArray<string | number>) => (path.join('.') === 'spec.number' ? '0201' : undefined);
      expect(found('Extension', doc('Extension', { ...ext, number: 201 }), sourceOf)).toEqual(['spec.number [schema-type] must be a string; quote it: "0201"']);
      expect(found('Extension', doc('Extension', { ...ext, callerIdName: true }), () => 'yes')).toEqual(['spec.callerIdName [schema-type] must be a string; quote it: "yes"']);
    });

    it('says to quote without echoing when the source is unknown or not a plain scalar', () => {
      expect(found('Extension', doc('Extension', { ...ext, number: 201 }))).toEqual(['spec.number [schema-type] must be a string; put the value in quotes']);
      expect(found('Extension', doc('Extension', { ...ext, number: 201 }), () => '201 # "\u001b[2J'))
        .toEqual(['spec.number [schema-type] must be a string; put the value in quotes']);
    });

    it('never echoes the source of a number inside a secret', () => {
      const sourceOf = () => '4242S3CRET';
      const out = found('User', doc('User', { ...user, password: { encrypted: 4242 } }), sourceOf)
        .concat(found('Extension', doc('Extension', { ...ext, secret: { generate: true, charset: 4242 } }), sourceOf));
      expect(out.length).toBeGreaterThan(0);
      expect(out.join('\n')).not.toContain('S3CRET');
    });
  });
});

describe('schemas/', () => {
  const kindFiles = KINDS.map((k) => [k, `${k.toLowerCase()}.schema.json`] as const);

  it.each(kindFiles)('%s: every example in %s validates', (kind, file) => {
    const examples = schemaOf(file)['examples'] as unknown[];
    expect(examples.length).toBeGreaterThan(0);
    for (const example of examples) expect(validateAgainstSchema(kind, structuredClone(example))).toEqual([]);
  });

  it('has a schema file for every kind and no schema file without a kind', () => {
    const files = readdirSync(SCHEMA_DIR).filter((f) => f.endsWith('.schema.json')).sort();
    expect(files).toEqual([...kindFiles.map(([, f]) => f), 'common.schema.json', 'infrasec.schema.json'].sort());
  });

  describe('the umbrella infrasec.schema.json (for editors)', () => {
    const addFormats = createRequire(import.meta.url)('ajv-formats') as (ajv: Ajv, formats: string[]) => Ajv;
    const ajv = new Ajv({ allErrors: true, strict: true, keywords: ['x-sensitive'] });
    addFormats(ajv, ['email', 'ipv4', 'date', 'date-time']);
    for (const f of readdirSync(SCHEMA_DIR).filter((n) => n.endsWith('.schema.json'))) ajv.addSchema(schemaOf(f));
    const umbrella = ajv.getSchema('https://infrasec.dev/schemas/v1/infrasec.schema.json')!;

    it.each(kindFiles)('accepts the %s examples', (_kind, file) => {
      for (const example of schemaOf(file)['examples'] as unknown[]) expect(umbrella(example)).toBe(true);
    });

    it('applies the kind schema chosen by kind', () => {
      expect(umbrella(doc('User', { ...user, password: 'plain' }))).toBe(false);
      expect(umbrella(doc('Group', { colour: 'red' }))).toBe(false);
    });

    it('refuses an unknown kind', () => {
      expect(umbrella({ apiVersion: 'infrasec/v1', kind: 'Printer' })).toBe(false);
    });
  });
});
