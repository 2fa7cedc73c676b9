// GetConfig, GetConfigJSON, ListCategories and CreateConfig on real files: includes, templates, filters, path checks.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BASE_FILES, startHarness, writeConf, type Harness } from './conf-fixtures.js';

let h: Harness;
afterEach(async () => {
  await h?.stop();
});

async function getConfig(filename: string, extra: Array<[string, string]> = []) {
  return h.client.action('GetConfig', [['Filename', filename], ...extra]);
}

/** The body lines of a reply after Response/ActionID. */
function body(raw: string): string[] {
  return raw.split('\r\n').slice(2);
}

const TEMPLATES = `; endpoint templates
[endpoint-base](!)
type=endpoint
context=from-internal
disallow=all
allow=ulaw

[1001](endpoint-base)
allow=alaw            ; inherited allow=ulaw comes first
callerid => "Alice" <1001>
note = a\\;b

[1001]
type=aor
max_contacts=1
`;

describe('GetConfig', () => {
  it('hides templates, lists inherited variables first and overridden ones twice', async () => {
    h = await startHarness({ ...BASE_FILES, 'pjsip_custom.conf': TEMPLATES });
    const r = await getConfig('pjsip_custom.conf');
    expect(body(r.raw)).toEqual([
      'Category-000000: 1001',
      'Templates-000000: endpoint-base',
      'Line-000000-000000: type=endpoint',
      'Line-000000-000001: context=from-internal',
      'Line-000000-000002: disallow=all',
      'Line-000000-000003: allow=ulaw',
      'Line-000000-000004: allow=alaw',
      'Line-000000-000005: callerid="Alice" <1001>',
      'Line-000000-000006: note=a;b',
      'Category-000001: 1001',
      'Line-000001-000000: type=aor',
      'Line-000001-000001: max_contacts=1',
    ]);
  });

  it('Filter TEMPLATES=include shows IsTemplate; TEMPLATES=restrict shows only templates', async () => {
    h = await startHarness({ ...BASE_FILES, 'pjsip_custom.conf': TEMPLATES });
    const inc = await getConfig('pjsip_custom.conf', [['Filter', 'TEMPLATES=include']]);
    expect(inc.get('Category-000000')).toBe('endpoint-base');
    expect(inc.get('IsTemplate-000000')).toBe('1');
    expect(inc.get('Category-000002')).toBe('1001');
    const only = await getConfig('pjsip_custom.conf', [['Filter', 'TEMPLATES=restrict']]);
    expect(only.getAll('Category-000000')).toEqual(['endpoint-base']);
    expect(only.get('Category-000001')).toBeUndefined();
  });

  it('Filter regexes are unanchored; anchors narrow; a missing = matches nothing', async () => {
    h = await startHarness({ ...BASE_FILES, 'pjsip_custom.conf': '[a]\ntype=aorx\n[b]\ntype=aor\n[c]\ntype=endpoint\n' });
    const loose = await getConfig('pjsip_custom.conf', [['Filter', 'type=aor']]);
    expect([loose.get('Category-000000'), loose.get('Category-000001'), loose.get('Category-000002')]).toEqual(['a', 'b', undefined]);
    const exact = await getConfig('pjsip_custom.conf', [['Filter', '^type$=^aor$']]);
    expect([exact.get('Category-000000'), exact.get('Category-000001')]).toEqual(['b', undefined]);
    const broken = await getConfig('pjsip_custom.conf', [['Filter', 'type']]);
    expect(body(broken.raw)).toEqual([]);
  });

  it('Category matches case-insensitively and every category of that name', async () => {
    h = await startHarness({ ...BASE_FILES, 'pjsip_custom.conf': TEMPLATES });
    const r = await getConfig('pjsip_custom.conf', [['Category', '1001']]);
    expect(r.getAll('Category-000000')).toEqual(['1001']);
    expect(r.get('Category-000001')).toBe('1001');
    const none = await getConfig('pjsip_custom.conf', [['Category', 'NOPE']]);
    expect(body(none.raw)).toEqual(['No categories found']);
  });

  it('merges #include files inline and (+) sections into their category', async () => {
    h = await startHarness({
      ...BASE_FILES,
      'pjsip.conf': '[global]\ntype=global\n#include "pjsip_custom.conf"\n#tryinclude <pjsip_missing.conf>\n[global](+)\ndebug=no\n',
      'pjsip_custom.conf': '[x]\ntype=aor\n',
    });
    const r = await getConfig('pjsip.conf');
    expect(body(r.raw)).toEqual([
      'Category-000000: global',
      'Line-000000-000000: type=global',
      'Line-000000-000001: debug=no',
      'Category-000001: x',
      'Line-000001-000000: type=aor',
    ]);
  });

  it.each([
    ['a missing #include target', '[a]\nx=1\n#include nothere.conf\n'],
    ['a variable before any category', 'x=1\n[a]\n'],
    ['a header without ]', '[a\nx=1\n'],
    ['(+) on an unknown category', '[a](+)\nx=1\n'],
    ['inheriting from a category not defined earlier', '[a](later)\nx=1\n[later](!)\ny=2\n'],
  ])('%s → Config file has invalid format', async (_n, text) => {
    h = await startHarness({ ...BASE_FILES, 'broken.conf': text });
    expect((await getConfig('broken.conf')).get('Message')).toBe('Config file has invalid format');
  });

  it('drops lines without = and ignores block comments', async () => {
    h = await startHarness({ ...BASE_FILES, 'odd.conf': '[a]\njunk line\n;-- x=1\ny=2 --;\nz=3\n' });
    expect(body((await getConfig('odd.conf')).raw)).toEqual(['Category-000000: a', 'Line-000000-000000: z=3']);
  });

  it('errors: no Filename, missing file, path leaving the config dir (also through a symlink)', async () => {
    h = await startHarness();
    expect((await h.client.action('GetConfig')).get('Message')).toBe('Filename not specified');
    expect((await getConfig('nothere.conf')).get('Message')).toBe('Config file not found');
    expect((await getConfig('../../../../etc/passwd')).get('Message')).toBe('File requires escalated privileges');
    expect((await getConfig('/etc/passwd')).get('Message')).toBe('File requires escalated privileges');
    fs.symlinkSync('/etc/hostname', path.join(h.dir, 'link.conf'));
    expect((await getConfig('link.conf')).get('Message')).toBe('File requires escalated privileges');
  });
});

describe('GetConfigJSON', () => {
  it('emits duplicate keys, the templates pseudo-key, and escapes only " and \\', async () => {
    h = await startHarness({ ...BASE_FILES, 'pjsip_custom.conf': '[t](!)\na=1\n[1001](t)\ncallerid="A\\B" <1>\n[1001]\ntype=aor\n' });
    const r = await h.client.action('GetConfigJSON', [['Filename', 'pjsip_custom.conf']]);
    expect(r.get('JSON')).toBe('{"1001":{"templates":"t","a":"1","callerid":"\\"A\\\\B\\" <1>"},"1001":{"type":"aor"}}');
    const withT = await h.client.action('GetConfigJSON', [['Filename', 'pjsip_custom.conf'], ['Filter', 'TEMPLATES=include']]);
    expect(withT.get('JSON')?.startsWith('{"t":{"istemplate":1,"a":"1"},')).toBe(true);
  });

  it('a missing file is "File requires escalated privileges"', async () => {
    h = await startHarness();
    const r = await h.client.action('GetConfigJSON', [['Filename', 'nothere.conf']]);
    expect(r.get('Message')).toBe('File requires escalated privileges');
  });
});

describe('ListCategories', () => {
  it('lists non-template categories; Match filters; empty file → Error: no categories found line', async () => {
    h = await startHarness({ ...BASE_FILES, 'pjsip_custom.conf': TEMPLATES });
    const all = await h.client.action('ListCategories', [['Filename', 'pjsip_custom.conf']]);
    expect(body(all.raw)).toEqual(['Category-000000: 1001', 'Category-000001: 1001']);
    const aors = await h.client.action('ListCategories', [['Filename', 'pjsip_custom.conf'], ['Match', '^type$=^aor$']]);
    expect(body(aors.raw)).toEqual(['Category-000000: 1001']);
    writeConf(h.dir, 'empty.conf', '');
    const empty = await h.client.action('ListCategories', [['Filename', 'empty.conf']]);
    expect(body(empty.raw)).toEqual(['Error: no categories found']);
    const missing = await h.client.action('ListCategories', [['Filename', 'nothere.conf']]);
    expect(missing.get('Message')).toBe('Config file not found');
  });
});

describe('CreateConfig', () => {
  it('creates an empty file once; then File exists; never truncates', async () => {
    h = await startHarness();
    const r = await h.client.action('CreateConfig', [['Filename', 'pjsip_reconciler.conf']]);
    expect(r.get('Message')).toBe('New configuration file created successfully');
    expect(fs.readFileSync(path.join(h.dir, 'pjsip_reconciler.conf'), 'utf8')).toBe('');
    writeConf(h.dir, 'pjsip_reconciler.conf', '[keep]\n');
    const again = await h.client.action('CreateConfig', [['Filename', 'pjsip_reconciler.conf']]);
    expect(again.raw).toBe(`Response: Error\r\nActionID: ${again.get('ActionID')}\r\nMessage: File exists`);
    expect(fs.readFileSync(path.join(h.dir, 'pjsip_reconciler.conf'), 'utf8')).toBe('[keep]\n');
  });

  it('OS error for a missing directory; escalated outside the config dir; Filename not specified', async () => {
    h = await startHarness();
    expect((await h.client.action('CreateConfig', [['Filename', 'nodir/x.conf']])).get('Message')).toBe('No such file or directory');
    expect((await h.client.action('CreateConfig', [['Filename', '../x.conf']])).get('Message')).toBe('File requires escalated privileges');
    expect((await h.client.action('CreateConfig', [['Filename', '/tmp/x-ami.conf']])).get('Message')).toBe(
      'File requires escalated privileges',
    );
    expect((await h.client.action('CreateConfig')).get('Message')).toBe('Filename not specified');
  });
});
