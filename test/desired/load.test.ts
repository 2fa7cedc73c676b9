import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../src/desired/parse.ts';
import { countByKind, loadDesiredState, loadFromFiles, resourcesOf } from '../../src/desired/load.ts';
import { baseFiles, lineOf, resource, toInputs, writeTree, yamlDocs, type Files } from './documents.ts';

const load = (files: Files) => loadFromFiles(toInputs(files));
const summary = (files: Files) => load(files).diagnostics.map((d) => `${d.file}:${d.line} ${d.path} [${d.code}]`);

describe('loadFromFiles', () => {
  it('builds the state of a valid set of files, indexed by kind and name', () => {
    const result = load(baseFiles());
    expect(result.diagnostics).toEqual([]);
    expect(countByKind(result.state!)).toEqual({
      User: 2, Group: 2, Extension: 2, Conference: 1, VpnProfile: 1, FirewallAlias: 3, FirewallRule: 2, PortForward: 1, MailDomain: 1, MailAlias: 1,
    });
    expect(result.state!.extensions.get('ext-4000')!.spec.number).toBe('4000');
    expect(resourcesOf(result.state!)).toHaveLength(16);
  });

  it('records where each resource came from, down to its fields', () => {
    const files = baseFiles();
    const ext = load(files).state!.extensions.get('ext-4000')!;
    const text = files['telephony.yaml']!;
    expect(ext.source.file).toBe('telephony.yaml');
    expect(ext.source.line).toBe(lineOf(text, 'apiVersion', 2));
    expect(ext.source.at(['spec', 'callerIdName']).line).toBe(lineOf(text, 'Anne (terrain)'));
  });

  it('collects every problem of every file instead of stopping at the first', () => {
    const broken = 'apiVersion: infrasec/v1\nkind: User\nmetadata:\n  name: bnoel\nspec:\n  givenName: B\n  surname: N\n  groups: [rh]\n  shoeSize: 44\n';
    const files = { ...baseFiles(), 'a-syntax.yaml': 'a: [1, 2\nb: 3\n', 'b-user.yaml': broken };
    expect(summary(files)).toEqual([
      'a-syntax.yaml:2  [yaml-syntax]',
      'b-user.yaml:9 spec.shoeSize [field-unknown]',
    ]);
    // Once the schema error is fixed, the reference check speaks up for the same document.
    expect(summary({ ...files, 'b-user.yaml': broken.replace('  shoeSize: 44\n', '') })).toEqual([
      'a-syntax.yaml:2  [yaml-syntax]',
      'b-user.yaml:8 spec.groups[0] [ref-missing]',
    ]);
  });

  it('has no state when there is any error', () => {
    const result = load({ ...baseFiles(), 'x.yaml': yamlDocs(resource('Group', 'g', { members: ['User/ghost'] })) });
    expect(result.state).toBeUndefined();
    expect(result.resources.length).toBeGreaterThan(0);
  });

  describe('leading with the cause', () => {
    // jdupont is referred to by an extension, a VPN profile, a group and a mail alias of the base state.
    const users = baseFiles()['users.yaml']!;
    const findings = (files: Files) => load(files).diagnostics.map((d) => `${d.file}:${d.line} ${d.path} [${d.code}] ${d.message}`);

    it.each([
      ['a misspelt field', users.replace('givenName: Jean', 'givenNmae: Jean'), ['users.yaml:6 spec.givenNmae [field-unknown] unknown field "givenNmae"; did you mean "givenName"?']],
      ['a misspelt kind', users.replace('kind: User', 'kind: Usr'), ['users.yaml:2 kind [kind-unknown] unknown kind "Usr"; did you mean "User"?']],
      ['a tab', users.replace('  surname: Dupont', '\tsurname: Dupont'), ['users.yaml:7 spec.surname [yaml-syntax] YAML indentation must use spaces, not tabs: replace the tab at the start of this line with spaces']],
      ['a line indented deeper', users.replace('  surname: Dupont', '   surname: Dupont'), ['users.yaml:7 spec.surname [yaml-syntax] this line is indented by 3 spaces, the line above by 2 spaces: fields of one mapping start at the same column, and YAML reads a deeper line as part of the value above']],
      ['a duplicate key', users.replace('  surname: Dupont', '  surname: Dupont\n  surname: Durand'), ['users.yaml:8 spec.surname [duplicate-key] key "surname" is written twice in this mapping (first on line 7); keep one']],
      ['a number where a string is expected', users.replace('  surname: Dupont', '  surname: 1789'), ['users.yaml:7 spec.surname [schema-type] must be a string; quote it: "1789"']],
    ])('reports %s in a user others refer to once, without "is not defined" from each of them', (_what, text, expected) => {
      const result = load({ ...baseFiles(), 'users.yaml': text });
      expect(result.state).toBeUndefined();
      expect(findings({ ...baseFiles(), 'users.yaml': text })).toEqual(expected);
    });

    it('still reports every reference to an object whose kind is not close to any', () => {
      const text = users.replace('kind: User', 'kind: Printer');
      expect(findings({ ...baseFiles(), 'users.yaml': text })).toEqual([
        'users.yaml:2 kind [kind-unknown] unknown kind "Printer"; expected one of User, Group, Extension, Conference, VpnProfile, FirewallAlias, FirewallRule, PortForward, MailDomain, MailAlias',
        'groups.yaml:15 spec.members[1] [ref-missing] user "jdupont" is not defined',
        'mail/aliases.yaml:8 spec.recipients[0] [ref-missing] user "jdupont" is not defined',
        'telephony.yaml:7 spec.owner [ref-missing] user "jdupont" is not defined',
        'vpn.yaml:6 spec.user [ref-missing] user "jdupont" is not defined',
      ]);
    });

    it('lists what is wrong inside documents before what is inconsistent between them, whatever the file order', () => {
      const files = { ...baseFiles(), 'a-first.yaml': yamlDocs(resource('Group', 'g', { members: ['User/ghost'] })), 'z-last.yaml': yamlDocs(resource('Group', 'h', { colour: 'red' })) };
      expect(load(files).diagnostics.map((d) => `${d.file} [${d.code}]`)).toEqual(['z-last.yaml [field-unknown]', 'a-first.yaml [ref-missing]']);
    });
  });

  describe('identity', () => {
    it('refuses a second object of the same kind and name, in another file, at its own name', () => {
      const dup = yamlDocs(resource('Group', 'ops', { description: 'again' }));
      const result = load({ ...baseFiles(), 'zz.yaml': dup });
      expect(result.diagnostics).toHaveLength(1);
      expect(result.diagnostics[0]).toMatchObject({ file: 'zz.yaml', line: lineOf(dup, 'name: ops'), path: 'metadata.name', code: 'duplicate-identity' });
      expect(result.diagnostics[0]!.message).toBe(`Group "ops" is already defined at groups.yaml:${lineOf(baseFiles()['groups.yaml']!, 'apiVersion')}`);
    });

    it('refuses a second object of the same kind and name in the same file', () => {
      const text = yamlDocs(resource('Group', 'g', {}), resource('Group', 'g', {}));
      expect(summary({ 'g.yaml': text })).toEqual([`g.yaml:${lineOf(text, 'name: g', 2)} metadata.name [duplicate-identity]`]);
    });

    it('lets objects of different kinds share a name', () => {
      // The base already has FirewallRule and PortForward "wan-web".
      expect(load({ ...baseFiles(), 'x.yaml': yamlDocs(resource('FirewallAlias', 'jdupont', { type: 'host', entries: ['10.0.0.1'] })) }).diagnostics).toEqual([]);
    });

    it('refuses a Group named like a User: both are sAMAccountName in AD', () => {
      expect(load({ ...baseFiles(), 'x.yaml': yamlDocs(resource('Group', 'jdupont', {})) }).diagnostics.map((d) => d.code)).toEqual(['account-name-collision']);
    });
  });

  describe('control characters', () => {
    const ext = (spec: Record<string, unknown>) => yamlDocs(resource('Extension', 'ext-300', { number: '300', callerIdName: 'Ok', secret: { generate: true }, ...spec }));

    it.each([
      ['CR LF (AMI header injection)', 'Bob\r\nAction: Originate'],
      ['a lone LF', 'Bob\nAction: Originate'],
      ['a lone CR', 'Bob\rAction: Originate'],
      ['NUL', 'Bob\u0000'],
      ['TAB', 'Bob\tSmith'],
      ['ESC', 'Bob\u001b[2J'],
      ['DEL', 'Bob\u007f'],
      ['NEL (U+0085)', 'Bob\u0085Action: Originate'],
      ['CSI (U+009B)', 'Bob\u009b2J'],
      ['LINE SEPARATOR (U+2028)', 'Bob\u2028Action: Originate'],
      ['PARAGRAPH SEPARATOR (U+2029)', 'Bob\u2029x'],
    ])('rejects %s in a callerIdName, once, at the field', (_what, value) => {
      const text = ext({ callerIdName: value });
      const result = load({ 'x.yaml': text });
      expect(result.diagnostics.map((d) => `${d.line} ${d.path} [${d.code}]`)).toEqual([`${lineOf(text, 'callerIdName')} spec.callerIdName [control-character]`]);
    });

    it.each([
      ['a label value', { metadata: { name: 'g', labels: { crise: 'x\r\ny' } } }, 'metadata.labels.crise'],
      ['a group member', { spec: { members: ['User/a', 'User/b\n'] } }, 'spec.members[1]'],
      ['a description', { spec: { description: 'two\nlines' } }, 'spec.description'],
    ])('rejects them in %s, at its path', (_what, over, path) => {
      const doc = { ...resource('Group', 'g', {}), ...over };
      const result = load({ 'g.yaml': yamlDocs(doc) });
      expect(result.diagnostics.map((d) => `${d.path} [${d.code}]`)).toContain(`${path} [control-character]`);
      expect(result.state).toBeUndefined();
    });

    it('rejects them in keys, printing the key escaped', () => {
      const text = 'apiVersion: infrasec/v1\nkind: Group\nmetadata: {name: g}\nspec:\n  "evil\\r\\nAction: Originate": 1\n';
      const result = load({ 'g.yaml': text });
      const paths = result.diagnostics.map((d) => `${d.line} ${d.path} [${d.code}] ${d.message}`);
      expect(paths).toContain('5 spec["evil\\r\\nAction: Originate"] [control-character] control characters (CR, LF, NUL, TAB...) are not allowed');
      expect(paths).toContain('5 spec["evil\\r\\nAction: Originate"] [field-unknown] unknown field "evil\\r\\nAction: Originate"');
      expect(result.diagnostics.some((d) => /[\r\n]/.test(d.message + d.path))).toBe(false);
    });

    it('allows the line breaks of an armored age ciphertext, the one multi-line value', () => {
      const encrypted = '-----BEGIN AGE ENCRYPTED FILE-----\nYWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSBhYmMK\nZGVm\n-----END AGE ENCRYPTED FILE-----\n';
      const text = yamlDocs(resource('User', 'bnoel', { givenName: 'B', surname: 'N', password: { encrypted } }));
      expect(load({ 'u.yaml': text }).diagnostics).toEqual([]);
    });
  });

  it('rejects a string longer than the limit', () => {
    const text = yamlDocs(resource('Group', 'g', { description: 'x'.repeat(LIMITS.maxStringLength + 1) }));
    expect(summary({ 'g.yaml': text })).toContain(`g.yaml:${lineOf(text, 'description')} spec.description [value-too-long]`);
  });

  describe('document shape', () => {
    it.each([
      ['a list', '- a\n- b\n', 'document-invalid', ''],
      ['a scalar', 'hello\n', 'document-invalid', ''],
      ['an explicit null', '~\n', 'document-invalid', ''],
      ['another apiVersion', 'apiVersion: infrasec/v2\nkind: User\n', 'api-version', 'apiVersion'],
      ['no apiVersion', 'kind: User\nmetadata: {name: x}\n', 'api-version', 'apiVersion'],
      ['an unknown kind', 'apiVersion: infrasec/v1\nkind: Printer\n', 'kind-unknown', 'kind'],
      ['a kind in the wrong case', 'apiVersion: infrasec/v1\nkind: user\n', 'kind-unknown', 'kind'],
      ['no kind', 'apiVersion: infrasec/v1\nmetadata: {name: x}\n', 'kind-unknown', 'kind'],
    ])('refuses %s', (_what, text, code, path) => {
      const result = load({ 'd.yaml': text });
      expect(result.diagnostics.map((d) => `${d.path} [${d.code}]`)).toEqual([`${path} [${code}]`]);
    });

    it('names the kinds it knows when the kind is unknown', () => {
      const [d] = load({ 'd.yaml': 'apiVersion: infrasec/v1\nkind: Printer\n' }).diagnostics;
      expect(d!.message).toBe('unknown kind "Printer"; expected one of User, Group, Extension, Conference, VpnProfile, FirewallAlias, FirewallRule, PortForward, MailDomain, MailAlias');
      expect(d!.line).toBe(2);
    });
  });

  describe('defaults', () => {
    it('fills schema defaults and derived ones before the reconcilers see a resource', () => {
      const text = yamlDocs(
        resource('User', 'bnoel', { givenName: 'Bruno', surname: 'Noel' }),
        resource('Extension', 'ext-300', { number: '300', callerIdName: 'B', secret: { generate: true } }),
        resource('Extension', 'ext-4010', { number: '4010', callerIdName: 'B', secret: { generate: true }, transport: 'wss', webrtc: true }),
      );
      const state = load({ 'x.yaml': text }).state!;
      expect(state.users.get('bnoel')!.spec).toMatchObject({ displayName: 'Bruno Noel', groups: [], enabled: true, mustChangePassword: true });
      expect(state.extensions.get('ext-300')!.spec).toMatchObject({
        transport: 'udp', webrtc: false, nat: true, maxContacts: 1, dtmfMode: 'rfc4733', messaging: false,
        codecs: { audio: ['g722', 'alaw', 'ulaw'], video: [] }, voicemail: { enabled: false, attach: true },
      });
      expect(state.extensions.get('ext-4010')!.spec.codecs).toEqual({ audio: ['opus', 'g722', 'alaw', 'ulaw'], video: ['vp8'] });
    });
  });
});

describe('loadDesiredState', () => {
  it('loads .yaml and .yml files under the root, skipping dot-directories and other files', async () => {
    const root = await writeTree({
      ...baseFiles(),
      'extra/g.yml': yamlDocs(resource('Group', 'from-yml', {})),
      '.git/config.yaml': 'this: [is not: valid',
      '.hidden.yaml': 'neither: [is this',
      'README.md': '# not YAML',
    });
    const result = await loadDesiredState(root);
    expect(result.diagnostics).toEqual([]);
    expect(result.files).toEqual(['extra/g.yml', 'firewall.yaml', 'groups.yaml', 'mail/aliases.yaml', 'mail/domain.yaml', 'telephony.yaml', 'users.yaml', 'vpn.yaml']);
    expect(result.state!.groups.has('from-yml')).toBe(true);
  });

  it('refuses a root that is not a directory', async () => {
    const root = await writeTree({ 'f.yaml': 'a: 1\n' });
    const result = await loadDesiredState(join(root, 'f.yaml'));
    expect(result.state).toBeUndefined();
    expect(result.diagnostics.map((d) => d.code)).toEqual(['path-invalid']);
  });

  it('refuses a symlinked YAML file without reading it, and the state is invalid', async () => {
    const outside = await writeTree({ 'secret.yaml': yamlDocs(resource('Group', 'outside', {})) });
    const root = await writeTree(baseFiles());
    await symlink(join(outside, 'secret.yaml'), join(root, 'link.yaml'));
    const result = await loadDesiredState(root);
    expect(result.state).toBeUndefined();
    expect(result.diagnostics.map((d) => `${d.file}:${d.line}:${d.col} [${d.code}]`)).toEqual(['link.yaml:1:1 [file-symlink]']);
  });

  it('refuses a symlinked directory instead of silently leaving out what it holds', async () => {
    const outside = await writeTree({ 'g.yaml': yamlDocs(resource('Group', 'outside', {})) });
    const root = await writeTree(baseFiles());
    await symlink(outside, join(root, 'more'));
    const result = await loadDesiredState(root);
    expect(result.state).toBeUndefined();
    expect(result.diagnostics.map((d) => `${d.file} [${d.code}]`)).toEqual(['more [file-symlink]']);
  });

  it('ignores a symlink that is neither YAML nor a directory', async () => {
    const root = await writeTree(baseFiles());
    await symlink(join(root, 'users.yaml'), join(root, 'README'));
    await symlink(join(root, 'nowhere'), join(root, 'dangling'));
    expect((await loadDesiredState(root)).diagnostics).toEqual([]);
  });

  it('refuses a file above the size limit without reading it, and the state is invalid', async () => {
    const root = await writeTree(baseFiles());
    await mkdir(join(root, 'big'));
    await writeFile(join(root, 'big', 'huge.yaml'), '#'.repeat(LIMITS.maxFileBytes) + '\n');
    const result = await loadDesiredState(root);
    expect(result.state).toBeUndefined();
    expect(result.diagnostics.map((d) => `${d.file}:${d.line} [${d.code}]`)).toEqual(['big/huge.yaml:1 [file-too-large]']);
  });
});
