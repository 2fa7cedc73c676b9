// The stock Issabel layout in the emulator: ShowDialPlan through from-internal's includes, `confbridge show profile`,
// and the GUI's regeneration (its voicemail writer ported from IssabelPBX, generated files written back).
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readConf, startHarness, writeConf, type Harness } from './conf-fixtures.js';
import { ISSABEL_VOICEMAIL_TEMPLATE } from './gui-voicemail.js';
import { STOCK_ISSABEL_FILES, STOCK_ISSABEL_GUI_FILES } from './stock-issabel.js';

let h: Harness;
afterEach(async () => {
  await h?.stop();
});

const stock = (over: Record<string, string> = {}) => startHarness({ ...STOCK_ISSABEL_FILES, ...over }, { guiGenerated: STOCK_ISSABEL_GUI_FILES });

describe('ShowDialPlan', () => {
  it('with an Extension, follows the includes in the order a call searches them and lists every match, hint first', async () => {
    h = await stock({ 'extensions_custom.conf': `${STOCK_ISSABEL_FILES['extensions_custom.conf']}[from-internal-custom]\ninclude => mine\n[mine]\nexten => 200,hint,PJSIP/200\nexten => 200,1(ext-200),Dial(PJSIP/200,25)\nexten => 200,2,Hangup()\n` });
    const r = await h.client.list('ShowDialPlan', [['Context', 'from-internal'], ['Extension', '200']]);
    expect(r.ack.get('Message')).toBe('DialPlan list will follow');
    expect(r.items.map((e) => [e.get('Context'), e.get('Extension'), e.get('Priority'), e.get('ExtensionLabel') ?? '', e.get('Application'), e.get('AppData') ?? null])).toEqual([
      ['mine', '200', 'hint', '', 'PJSIP/200', null],
      ['mine', '200', '1', 'ext-200', 'Dial', 'PJSIP/200,25'],
      ['mine', '200', '2', '', 'Hangup', ''],
      // bad-number comes after from-internal-xfer in [from-internal]: its pattern matches too, later.
      ['bad-number', '_X.', '1', '', 'Playback', 'ss-noservice'],
      ['bad-number', '_X.', '2', '', 'Hangup', ''],
    ]);
    expect(r.complete?.get('ListItems')).toBe('5');
    expect(r.complete?.get('ListExtensions')).toBe('2');
  });

  it('without an Extension, lists one context\'s own priorities and its includes, not what they include', async () => {
    h = await stock();
    const r = await h.client.list('ShowDialPlan', [['Context', 'from-internal-custom']]);
    expect(r.items.filter((e) => e.get('IncludeContext')).map((e) => e.get('IncludeContext'))).toEqual(['custom-recordme']);
    expect(r.items.filter((e) => e.get('Extension')).map((e) => `${e.get('Extension')},${e.get('Priority')}`)).toEqual(['1234,1', '1234,2', 'h,1']);
    expect(r.complete?.get('ListContexts')).toBe('1');
  });

  it('answers errors as pbx.c does, and needs write=config or reporting', async () => {
    h = await stock();
    expect((await h.client.action('ShowDialPlan', [['Context', 'nope']])).get('Message')).toBe('Did not find context nope');
    expect((await h.client.action('ShowDialPlan', [['Context', 'custom-recordme'], ['Extension', '999']])).get('Message')).toBe('Did not find extension 999@custom-recordme');
    await h.stop();
    h = await startHarness(STOCK_ISSABEL_FILES, { users: [{ username: 'admin', secret: 'amipass', read: ['all'], write: ['system'] }] });
    expect((await h.client.action('ShowDialPlan', [['Context', 'from-internal']])).get('Message')).toBe('Permission denied');
  });
});

describe('confbridge show profile', () => {
  it('prints a loaded user or bridge profile with its defaults, the PIN included, and says when there is none', async () => {
    h = await stock({ 'confbridge_custom.conf': '[room-user]\ntype=user\npin=4711\nwait_marked=yes\n[room-bridge]\ntype=bridge\nmax_members=20\nvideo_mode=sfu\n' });
    const user = (await h.client.action('Command', [['Command', 'confbridge show profile user room-user']])).getAll('Output');
    expect(user).toContain('PIN:                     4711');
    expect(user).toContain('Wait Marked:             enabled');
    expect(user).toContain('Admin:                   false');
    expect(user).toContain('Hear Join:               enabled');
    const bridge = (await h.client.action('Command', [['Command', 'confbridge show profile bridge room-bridge']])).getAll('Output');
    expect(bridge).toContain('Max Members:          20');
    expect(bridge).toContain('Video Mode:           sfu');
    expect((await h.client.action('Command', [['Command', 'confbridge show profile bridge default_bridge']])).getAll('Output')).toContain('Max Members:          No Limit');
    expect((await h.client.action('Command', [['Command', 'confbridge show profile user gone']])).getAll('Output')).toEqual(["No conference user profile named 'gone' found!"]);
  });
});

describe('GUI regeneration (Issabel)', () => {
  it('writes the generated files back, runs voicemail.conf and its #includes through the GUI writer, keeps a #tryinclude line and never opens what it names', async () => {
    const mine = '[x](!)\n[default](x)\n200 => 1234,Poste 200,,,attach=yes\n';
    h = await stock({ 'voicemail.conf': `${STOCK_ISSABEL_FILES['voicemail.conf']}#tryinclude mine.conf\n`, 'mine.conf': mine });
    writeConf(h.dir, 'extensions_additional.conf', '; hand edit the GUI will lose\n');
    const mtime = statSync(join(h.dir, 'mine.conf')).mtimeMs;
    expect(h.emu.regenerateGui()).toEqual([...STOCK_ISSABEL_GUI_FILES, 'voicemail.conf']);
    expect(readConf(h.dir, 'extensions_additional.conf')).toBe(STOCK_ISSABEL_FILES['extensions_additional.conf']);
    expect(readConf(h.dir, 'voicemail.conf')).toBe(`${STOCK_ISSABEL_FILES['voicemail.conf']}#tryinclude mine.conf\n`);
    expect(readConf(h.dir, 'vm_general.inc')).toBe(STOCK_ISSABEL_FILES['vm_general.inc']);
    expect(readConf(h.dir, 'mine.conf')).toBe(mine);
    expect(statSync(join(h.dir, 'mine.conf')).mtimeMs).toBe(mtime);
    // And it reloads, as "Apply Config" does: both mailboxes run.
    const boxes = await h.client.list('VoicemailUsersList');
    expect(boxes.items.map((e) => `${e.get('VoiceMailbox')}@${e.get('VMContext')}`)).toEqual(['100@default', '200@default']);
  });

  it('moves mailboxes out of an #include placed where its writer is in another section, and drops what it does not know', async () => {
    // #include (not #tryinclude) is followed; `[default](x)` is a section to the GUI's reader but not to its writer,
    // which is still in [general] there: the mailbox is dropped from mine.conf and appended to voicemail.conf.
    const vm = '[general]\n#include vm_general.inc\n#include vm_email.inc\n#include mine.conf\n[default]\n\n100 => 4321,Accueil,,,attach=yes\n';
    h = await stock({ 'voicemail.conf': vm, 'mine.conf': '[x](!)\n[default](x)\n200 => 1234,Poste 200,,,attach=yes\n' });
    h.emu.regenerateGui();
    expect(readConf(h.dir, 'mine.conf')).toBe('[x](!)\n[default](x)\n');
    expect(readConf(h.dir, 'voicemail.conf')).toBe(`${vm}200 => 1234,Poste 200,,,attach=yes\n`);
  });

  it('replaces a voicemail.conf that does not mention vm_email by the GUI template', async () => {
    h = await stock({ 'voicemail.conf': '[general]\nformat=wav\n[default]\n100 => 4321,Accueil,,,\n' });
    h.emu.regenerateGui();
    expect(readConf(h.dir, 'voicemail.conf')).toBe(ISSABEL_VOICEMAIL_TEMPLATE);
  });
});
