// UpdateConfig: every verb, exact error texts, all-or-nothing, numbering gaps, options, and the rewritten files.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BASE_FILES, readConf, startHarness, withoutHeader, writeConf, type Harness } from './conf-fixtures.js';

let h: Harness;
afterEach(async () => {
  await h?.stop();
});

type Op = { action: string; cat?: string; var?: string; value?: string; match?: string; line?: string; options?: string };

function opHeaders(ops: Op[], start = 0): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  ops.forEach((op, i) => {
    const n = String(i + start).padStart(6, '0');
    out.push([`Action-${n}`, op.action]);
    if (op.cat !== undefined) out.push([`Cat-${n}`, op.cat]);
    if (op.var !== undefined) out.push([`Var-${n}`, op.var]);
    if (op.value !== undefined) out.push([`Value-${n}`, op.value]);
    if (op.match !== undefined) out.push([`Match-${n}`, op.match]);
    if (op.line !== undefined) out.push([`Line-${n}`, op.line]);
    if (op.options !== undefined) out.push([`Options-${n}`, op.options]);
  });
  return out;
}

async function update(file: string, ops: Op[], extra: Array<[string, string]> = []) {
  return h.client.action('UpdateConfig', [['SrcFilename', file], ['DstFilename', file], ...extra, ...opHeaders(ops)]);
}

async function lines(file: string): Promise<string[]> {
  const r = await h.client.action('GetConfig', [['Filename', file], ['Filter', 'TEMPLATES=include']]);
  return r.raw.split('\r\n').slice(2);
}

const OWNED = 'pjsip_reconciler.conf';

async function ownedHarness(text: string): Promise<void> {
  h = await startHarness({ ...BASE_FILES, [OWNED]: text });
}

describe('all-or-nothing', () => {
  const failing: Array<[string, Op[], string]> = [
    ['unknown category', [{ action: 'Append', cat: 'nope', var: 'x', value: '1' }], 'Given category does not exist'],
    ['Update of a missing variable', [{ action: 'Update', cat: 'a', var: 'nope', value: '1' }], 'Update did not complete successfully'],
    ['Delete of a missing variable', [{ action: 'Delete', cat: 'a', var: 'nope' }], 'Update did not complete successfully'],
    ['unknown verb', [{ action: 'Frob', cat: 'a' }], 'Unknown action command'],
    ['missing Cat', [{ action: 'Append', var: 'x', value: '1' }], 'Category not specified'],
    ['RenameCat without Value', [{ action: 'RenameCat', cat: 'a' }], 'Problem with category, value, or line (if required)'],
    ['Append without Var', [{ action: 'Append', cat: 'a', value: '1' }], 'Problem with category, value, or line (if required)'],
    ['Insert without Line', [{ action: 'Insert', cat: 'a', var: 'x', value: '1' }], 'Problem with category, value, or line (if required)'],
    ['NewCat of an existing name', [{ action: 'NewCat', cat: 'A' }], 'Create category did not complete successfully'],
    ['NewCat of an existing template name', [{ action: 'NewCat', cat: 'tpl' }], 'Create category did not complete successfully'],
    ['inherit from a non-template', [{ action: 'NewCat', cat: 'n', options: 'inherit=a' }], 'Template category not found'],
    ['NewCat before an unknown category', [{ action: 'NewCat', cat: 'n', match: 'nope' }], 'Create category did not complete successfully'],
  ];
  it.each(failing)('%s: exact error and the file is byte-identical afterwards', async (_n, badOps, message) => {
    const original = '; owned\n[tpl](!)\nt=1\n\n[a]\nx = 1 ; keep\n';
    await ownedHarness(original);
    const before = fs.statSync(path.join(h.dir, OWNED)).mtimeMs;
    const ops: Op[] = [{ action: 'NewCat', cat: 'fresh' }, { action: 'Append', cat: 'a', var: 'y', value: '2' }, ...badOps];
    const r = await update(OWNED, ops);
    expect(r.raw).toBe(`Response: Error\r\nActionID: ${r.get('ActionID')}\r\nMessage: ${message}`);
    expect(readConf(h.dir, OWNED)).toBe(original);
    expect(fs.statSync(path.join(h.dir, OWNED)).mtimeMs).toBe(before);
  });

  it('success has no Message header, and even zero operations rewrite the file with a ;! header', async () => {
    await ownedHarness('[a]\nx=1\n');
    const r = await update(OWNED, []);
    expect(r.raw).toBe(`Response: Success\r\nActionID: ${r.get('ActionID')}`);
    const text = readConf(h.dir, OWNED);
    expect(text).toMatch(
      new RegExp(
        `^;!\\n;! Automatically generated configuration file\\n;! Filename: ${OWNED} \\(${h.emu.configDir}/${OWNED}\\)\\n;! Generator: Manager\\n;! Creation Date: \\w{3} \\w{3} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d \\d{4}\\n;!\\n`,
      ),
    );
    expect(withoutHeader(text)).toBe('[a]\nx = 1\n');
  });

  it('the first numbering gap silently drops the rest', async () => {
    await ownedHarness('[a]\n');
    const r = await h.client.action('UpdateConfig', [
      ['SrcFilename', OWNED],
      ['DstFilename', OWNED],
      ...opHeaders([{ action: 'Append', cat: 'a', var: 'one', value: '1' }]),
      ...opHeaders([{ action: 'Append', cat: 'a', var: 'three', value: '3' }], 2),
    ]);
    expect(r.get('Response')).toBe('Success');
    expect(await lines(OWNED)).toEqual(['Category-000000: a', 'Line-000000-000000: one=1']);
  });

  it('needs SrcFilename and DstFilename, both existing inside the config dir', async () => {
    await ownedHarness('[a]\n');
    const ops = opHeaders([{ action: 'NewCat', cat: 'x' }]);
    const noDst = await h.client.action('UpdateConfig', [['Filename', OWNED], ...ops]);
    expect(noDst.get('Message')).toBe('Filename not specified');
    const missing = await h.client.action('UpdateConfig', [['SrcFilename', OWNED], ['DstFilename', 'new.conf'], ...ops]);
    expect(missing.get('Message')).toBe('File requires escalated privileges');
    const outside = await h.client.action('UpdateConfig', [['SrcFilename', OWNED], ['DstFilename', '../../etc/hosts'], ...ops]);
    expect(outside.get('Message')).toBe('File requires escalated privileges');
    expect(fs.existsSync(path.join(h.dir, 'new.conf'))).toBe(false);
  });
});

describe('verbs', () => {
  it('the FreePBX pair: NewCat under a temporary name, Append, RenameCat; then catfilter narrows', async () => {
    await ownedHarness('');
    const r = await update(OWNED, [
      { action: 'NewCat', cat: '1001' },
      { action: 'Append', cat: '1001', var: 'type', value: 'endpoint' },
      { action: 'NewCat', cat: 'tmp-aor-1001' },
      { action: 'Append', cat: 'tmp-aor-1001', var: 'type', value: 'aor' },
      { action: 'RenameCat', cat: 'tmp-aor-1001', value: '1001' },
      { action: 'Append', cat: '1001', var: 'max_contacts', value: '1', options: 'catfilter="^type$=^aor$"' },
    ]);
    expect(r.get('Response')).toBe('Success');
    expect(await lines(OWNED)).toEqual([
      'Category-000000: 1001',
      'Line-000000-000000: type=endpoint',
      'Category-000001: 1001',
      'Line-000001-000000: type=aor',
      'Line-000001-000001: max_contacts=1',
    ]);
  });

  it('Append without catfilter hits every category of the name; NewCat of a duplicate needs allowdups', async () => {
    await ownedHarness('[1001]\ntype=endpoint\n[1001]\ntype=aor\n');
    expect((await update(OWNED, [{ action: 'Append', cat: '1001', var: 'x', value: 'y' }])).get('Response')).toBe('Success');
    expect((await lines(OWNED)).filter((l) => l.endsWith('x=y'))).toHaveLength(2);
    expect((await update(OWNED, [{ action: 'NewCat', cat: '1001' }])).get('Message')).toBe('Create category did not complete successfully');
    expect((await update(OWNED, [{ action: 'NewCat', cat: '1001', options: 'allowdups' }])).get('Response')).toBe('Success');
    expect((await lines(OWNED)).filter((l) => l.startsWith('Category-'))).toHaveLength(3);
    expect((await update(OWNED, [{ action: 'NewCat', cat: '1001', options: 'ignoreerror' }])).get('Response')).toBe('Success');
  });

  it('catfilter=name=value without quotes is cut at the second = and matches nothing', async () => {
    await ownedHarness('[1001]\ntype=aor\n');
    const r = await update(OWNED, [{ action: 'Append', cat: '1001', var: 'x', value: '1', options: 'catfilter=type=aor' }]);
    expect(r.get('Message')).toBe('Given category does not exist');
  });

  it('Update replaces the last match in place, keeps => and comments, takes the new spelling of the name', async () => {
    await ownedHarness('[a]\nexten => 1,1,Answer() ; first\nexten => 1,2,Hangup()\nother = x\n');
    const r = await update(OWNED, [{ action: 'Update', cat: 'a', var: 'EXTEN', value: '1,2,Busy()' }]);
    expect(r.get('Response')).toBe('Success');
    expect(withoutHeader(readConf(h.dir, OWNED))).toBe('[a]\nexten => 1,1,Answer()  ; first\nEXTEN => 1,2,Busy()\nother = x\n');
  });

  it('Update with Match picks the variable with that value (case-insensitive)', async () => {
    await ownedHarness('[a]\nallow=ulaw\nallow=alaw\n');
    await update(OWNED, [{ action: 'Update', cat: 'a', var: 'allow', value: 'g722', match: 'ULAW' }]);
    expect(await lines(OWNED)).toEqual(['Category-000000: a', 'Line-000000-000000: allow=g722', 'Line-000000-000001: allow=alaw']);
  });

  it('Delete: every match without Match, one value with Match, or by 0-based Line', async () => {
    await ownedHarness('[ctx]\nexten => 8000,1,Answer()\nsame => n,Hangup()\nexten => 9000,1,Answer()\n');
    await update(OWNED, [{ action: 'Delete', cat: 'ctx', var: 'exten', match: '8000,1,ANSWER()' }]);
    expect((await lines(OWNED)).slice(1)).toEqual(['Line-000000-000000: same=n,Hangup()', 'Line-000000-000001: exten=9000,1,Answer()']);
    await update(OWNED, [{ action: 'Delete', cat: 'ctx', line: '0' }]);
    expect((await lines(OWNED)).slice(1)).toEqual(['Line-000000-000000: exten=9000,1,Answer()']);
    await update(OWNED, [{ action: 'Delete', cat: 'ctx', var: 'exten' }]);
    expect((await lines(OWNED)).slice(1)).toEqual([]);
  });

  it('EmptyCat keeps the header and the template list; DelCat removes every selected category', async () => {
    await ownedHarness('[t](!)\na=1\n[c](t)\nb=2\n[d]\nx=1\n');
    await update(OWNED, [{ action: 'EmptyCat', cat: 'c' }, { action: 'DelCat', cat: 'd' }]);
    expect(withoutHeader(readConf(h.dir, OWNED))).toBe('[t](!)\na = 1\n[c](t)\n');
  });

  it('Insert at 0, in the middle and past the end', async () => {
    await ownedHarness('[a]\nx=1\ny=2\n');
    await update(OWNED, [
      { action: 'Insert', cat: 'a', var: 'first', value: '0', line: '0' },
      { action: 'Insert', cat: 'a', var: 'mid', value: 'm', line: '2' },
      { action: 'Insert', cat: 'a', var: 'end', value: 'e', line: '99' },
    ]);
    expect((await lines(OWNED)).slice(1)).toEqual([
      'Line-000000-000000: first=0',
      'Line-000000-000001: x=1',
      'Line-000000-000002: mid=m',
      'Line-000000-000003: y=2',
      'Line-000000-000004: end=e',
    ]);
  });

  it('quirk: Insert at the end followed by Append in the same request loses the inserted line', async () => {
    await ownedHarness('[a]\nx=1\ny=2\n');
    await update(OWNED, [
      { action: 'Insert', cat: 'a', var: 'lost', value: '1', line: '5' },
      { action: 'Append', cat: 'a', var: 'kept', value: '2' },
    ]);
    expect((await lines(OWNED)).slice(1)).toEqual(['Line-000000-000000: x=1', 'Line-000000-000001: y=2', 'Line-000000-000002: kept=2']);
  });

  it.each([
    ['[a]\n', '1'],
    ['[a]\nx=1\n', '2'],
  ])('Insert that would crash Asterisk (%j, Line %s) is refused and nothing is written', async (text, line) => {
    await ownedHarness(text);
    const r = await update(OWNED, [{ action: 'Insert', cat: 'a', var: 'y', value: '1', line }]);
    expect(r.get('Response')).toBe('Error');
    expect(readConf(h.dir, OWNED)).toBe(text);
  });

  it('a Value starting with > (or Match: object) writes =>, templates need TEMPLATES in catfilter', async () => {
    await ownedHarness('');
    await update(OWNED, [
      { action: 'NewCat', cat: 'tpl', options: 'template' },
      { action: 'Append', cat: 'tpl', var: 'type', value: 'aor', options: 'catfilter="TEMPLATES=include"' },
      { action: 'NewCat', cat: 'child', options: 'inherit="tpl"' },
      { action: 'Append', cat: 'child', var: 'obj', value: '>v' },
      { action: 'Append', cat: 'child', var: 'obj2', value: 'w', match: 'object' },
    ]);
    expect(withoutHeader(readConf(h.dir, OWNED))).toBe('[tpl](!)\ntype = aor\n[child](tpl)\nobj => v\nobj2 => w\n');
  });
});

describe('the rewritten files', () => {
  it('reproduces the file listed in ami-transcripts/index.md (ops of scenario 23, then one more Append)', async () => {
    await ownedHarness('');
    await update(OWNED, [
      { action: 'NewCat', cat: 'special' },
      { action: 'Append', cat: 'special', var: 'semi', value: 'a;b ; c  ' },
      { action: 'Append', cat: 'special', var: 'obj', value: '>objval' },
      { action: 'Append', cat: 'special', var: 'hash', value: 'x#y' },
      { action: 'Append', cat: 'special', var: 'eq', value: 'a=b' },
      { action: 'Append', cat: 'special', var: 'empty' },
      { action: 'Append', cat: 'special', var: 'utf8', value: Buffer.from('café ✓', 'utf8').toString('latin1') },
    ]);
    await update(OWNED, [
      { action: 'NewCat', cat: 'tpl', options: 'template' },
      { action: 'NewCat', cat: 'child', options: 'inherit=tpl' },
      { action: 'Append', cat: 'child', var: 'max_contacts', value: '2' },
    ]);
    await update(OWNED, [{ action: 'Append', cat: 'special', var: 'second', value: '2' }]);
    const text = Buffer.from(readConf(h.dir, OWNED), 'latin1').toString('utf8');
    const expected = `;!
;! Automatically generated configuration file
;! Filename: ${OWNED} (${h.emu.configDir}/${OWNED})
;! Generator: Manager
;! Creation Date: DATE
;!
[special]
semi = a\\;b \\; c
obj => objval
hash = x#y
eq = a=b
empty = 
utf8 = café ✓
second = 2
[tpl](!)
[child](tpl)
max_contacts = 2
`;
    expect(text.replace(/^;! Creation Date: .*$/m, ';! Creation Date: DATE')).toBe(expected);
  });

  it('keeps comments and blank lines of existing content, header comments of categories and same-line comments', async () => {
    const original = `; Owned by the reconciler
; do not edit

[general] ; the defaults
a = 1

; the phones
[1001]
type = endpoint ; sip phone
context = from-internal

;-- old
stuff --;
; trailing note

`;
    await ownedHarness(original);
    await update(OWNED, [{ action: 'Append', cat: '1001', var: 'allow', value: 'ulaw' }]);
    expect(withoutHeader(readConf(h.dir, OWNED))).toBe(`; Owned by the reconciler
; do not edit

[general]; the defaults
a = 1

; the phones
[1001]
type = endpoint  ; sip phone
context = from-internal
; trailing note

allow = ulaw
`);
    // The block comment is gone; the end-of-file comment stays attached to the variable it followed, so the
    // appended variable lands after it. A last comment line with nothing after it is not kept at all:
    writeConf(h.dir, OWNED, '[a]\nx=1\n; last\n');
    await update(OWNED, []);
    expect(withoutHeader(readConf(h.dir, OWNED))).toBe('[a]\nx = 1\n');
  });

  it('rewrites every #included file and keeps the directive; new categories and variables go to DstFilename', async () => {
    h = await startHarness({
      ...BASE_FILES,
      'top.conf': '[main]\nx=1\n#include "sub.conf"\n',
      'sub.conf': '[fromsub]\ny=2\n',
    });
    await update('top.conf', [
      { action: 'Append', cat: 'fromsub', var: 'z', value: '3' },
      { action: 'NewCat', cat: 'added' },
    ]);
    // New variables go to DstFilename even for a category of an included file: z now sits under [main].
    expect(withoutHeader(readConf(h.dir, 'top.conf'))).toBe('[main]\nx = 1\nz = 3\n[added]\n#include "sub.conf"\n');
    const sub = readConf(h.dir, 'sub.conf');
    expect(sub).toContain(`;! Filename: top.conf (${h.emu.configDir}/sub.conf)\n`);
    expect(withoutHeader(sub)).toBe('[fromsub]\ny = 2\n');
  });

  it('a glob #include makes every save fail with "Save of config failed" and nothing changes', async () => {
    h = await startHarness({ ...BASE_FILES, 'g.conf': '[a]\n#include g_*.conf\n', 'g_one.conf': '[b]\n' });
    const r = await update('g.conf', [{ action: 'Append', cat: 'a', var: 'x', value: '1' }]);
    expect(r.get('Message')).toBe('Save of config failed');
    expect(readConf(h.dir, 'g.conf')).toBe('[a]\n#include g_*.conf\n');
  });

  it('PreserveEffectiveContext: default writes inherited values of a changed template explicitly; no lets them follow', async () => {
    const text = '[t](!)\nctx=old\n[c](t)\nown=1\n';
    await ownedHarness(text);
    await update(OWNED, [{ action: 'Update', cat: 't', var: 'ctx', value: 'new', options: 'catfilter="TEMPLATES=restrict"' }]);
    expect(withoutHeader(readConf(h.dir, OWNED))).toBe('[t](!)\nctx = new\n[c](t)\nctx = old\nown = 1\n');
    writeConf(h.dir, OWNED, text);
    await update(
      OWNED,
      [{ action: 'Update', cat: 't', var: 'ctx', value: 'new', options: 'catfilter="TEMPLATES=restrict"' }],
      [['PreserveEffectiveContext', 'no']],
    );
    expect(withoutHeader(readConf(h.dir, OWNED))).toBe('[t](!)\nctx = new\n[c](t)\nown = 1\n');
  });
});
