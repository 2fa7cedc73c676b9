// The .conf parser and writer on their own: corner cases of main/config.c that are awkward to reach over AMI.
import { describe, expect, it } from 'vitest';
import { makeConfigDir, readConf, withoutHeader } from './conf-fixtures.js';
import type { ConfTree } from './conf-model.js';
import { loadConfig } from './conf-parser.js';
import { saveConfig } from './conf-writer.js';

function load(files: Record<string, string>, name = 'a.conf'): { tree: ConfTree; dir: string } {
  const dir = makeConfigDir(files);
  const tree = loadConfig(dir, name, { withComments: true });
  if (typeof tree === 'string') throw new Error(`load failed: ${tree}`);
  return { tree, dir };
}

function view(tree: ConfTree): string[] {
  return tree.categories.map(
    (c) => `${c.name}${c.ignored ? '!' : ''}${c.templates.length ? `(${c.templates.map((t) => t.name).join(',')})` : ''}: ${c.vars.map((v) => `${v.name}${v.object ? '=>' : '='}${v.value}`).join(' | ')}`,
  );
}

describe('parser', () => {
  it('header options: (!), (a,b), (!,a), "[x] (!)" is plain, (+filter) picks the matching duplicate', () => {
    const { tree } = load({
      'a.conf':
        '[t1](!)\na=1\n[t2](!)\nb=2\n[both](t1,t2)\n[tmpl2](!,t1)\n[spaced] (!)\nc=3\n[d]\ntype=aor\n[d]\ntype=endpoint\n[d](+type=endpoint)\nx=1\n',
    });
    expect(view(tree)).toEqual([
      't1!: a=1',
      't2!: b=2',
      'both(t1,t2): a=1 | b=2',
      'tmpl2!(t1): a=1',
      'spaced: c=3',
      'd: type=aor',
      'd: type=endpoint | x=1',
    ]);
  });

  it('+= appends the raw text to the last value of that name; => sets the object flag; \\; is a literal semicolon', () => {
    const { tree } = load({ 'a.conf': '[c]\nallow=ulaw\nallow += ,alaw  \nexten => 1,1,NoOp(a\\;b) ; real comment\n' });
    expect(view(tree)).toEqual(['c: allow=ulaw ,alaw | exten=>1,1,NoOp(a;b)']);
  });

  it('skips a UTF-8 BOM, lines longer than 8190 bytes, and names category headers up to 79 bytes', () => {
    const long = 'n'.repeat(100);
    const { tree } = load({ 'a.conf': `\xef\xbb\xbf[${long}]\nx=${'v'.repeat(9000)}\ny=1\n` });
    expect(tree.categories[0]!.name).toBe('n'.repeat(79));
    expect(view(tree)[0]!.endsWith(': y=1')).toBe(true);
  });

  it('#exec is ignored without execincludes; unknown directives are ignored', () => {
    const { tree } = load({ 'a.conf': '[c]\n#exec /bin/echo x=1\n#frob y\nz=2\n' });
    expect(view(tree)).toEqual(['c: z=2']);
    expect(tree.includes).toEqual([]);
  });

  it('an included file keeps the parent current category; the parent carries on with its own', () => {
    const { tree } = load({ 'a.conf': '[global]\ntype=global\n#include "b.conf"\nafter=1\n', 'b.conf': 'debug=yes\n[other]\no=1\n' });
    expect(view(tree)).toEqual(['global: type=global | debug=yes | after=1', 'other: o=1']);
  });

  it('an unparsable included file is cut short but does not invalidate the parent', () => {
    const { tree } = load({ 'a.conf': '[a]\n#include b.conf\n[c]\n', 'b.conf': '[b1]\nx=1\n[broken\n[b2]\n' });
    expect(view(tree)).toEqual(['a: ', 'b1: x=1', 'c: ']);
  });

  it('include depth is limited: the 11th level counts as missing, which only cuts the innermost file', () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 12; i++) files[`f${i}.conf`] = `[c${i}]\n#include f${i + 1}.conf\n`;
    files['f12.conf'] = '[end]\n';
    const dir = makeConfigDir(files);
    const tree = loadConfig(dir, 'f0.conf');
    if (typeof tree === 'string') throw new Error(tree);
    expect(tree.categories.map((c) => c.name)).toEqual(Array.from({ length: 11 }, (_, i) => `c${i}`));
  });
});

describe('writer', () => {
  it('keeps the order and quoting of includes, and #tryinclude stays #tryinclude', () => {
    const { tree, dir } = load({
      'a.conf': '#include b.conf\n#tryinclude <missing.conf>\n#include "c.conf"\n[main]\nx=1\n',
      'b.conf': '[b]\n',
      'c.conf': '[cc]\n',
    });
    expect(saveConfig('a.conf', tree, { configDir: dir, generator: 'Manager', preserveEffectiveContext: true })).toBe(true);
    // Directive lines do not advance the writer's line counter, so [main] (line 4) gets 3 blank lines before it.
    expect(withoutHeader(readConf(dir, 'a.conf'))).toBe('#include "b.conf"\n#tryinclude "missing.conf"\n#include "c.conf"\n\n\n\n[main]\nx = 1\n');
    expect(withoutHeader(readConf(dir, 'b.conf'))).toBe('[b]\n');
  });

  it('restores up to 4 blank lines from line numbers and collapses larger gaps to one', () => {
    const { tree, dir } = load({ 'a.conf': '[a]\nx=1\n\n\n[b]\ny=1\n\n\n\n\n\n\n\n[c]\n' });
    saveConfig('a.conf', tree, { configDir: dir, generator: 'Manager', preserveEffectiveContext: true });
    expect(withoutHeader(readConf(dir, 'a.conf'))).toBe('[a]\nx = 1\n\n\n[b]\ny = 1\n\n[c]\n');
  });

  it('writes a file included twice to its "~~1" alias', () => {
    const { tree, dir } = load({ 'a.conf': '[a]\n#include b.conf\n#include b.conf\n', 'b.conf': 'v=1\n' });
    expect(tree.includes.map((i) => i.includedFile)).toEqual(['b.conf', 'b.conf~~1']);
    expect(view(tree)).toEqual(['a: v=1 | v=1']);
  });
});
