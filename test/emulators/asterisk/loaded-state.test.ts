// Files vs running state: list actions, Command and the test hooks only change after a Reload of the module.
import { afterEach, describe, expect, it } from 'vitest';
import { BASE_FILES, readConf, startHarness, writeConf, type Harness } from './conf-fixtures.js';

let h: Harness;
afterEach(async () => {
  await h?.stop();
});

const ENDPOINT_1001 = '[1001]\ntype=endpoint\ncontext=from-internal\ndisallow=all\nallow=ulaw,alaw\nauth=1001-auth\naors=1001\n\n[1001-auth]\ntype=auth\nusername=1001\npassword=s3cret\n\n[1001]\ntype=aor\nmax_contacts=1\n';

async function endpoints(): Promise<string[]> {
  const r = await h.client.list('PJSIPShowEndpoints');
  return r.items.map((i) => i.get('ObjectName') as string);
}

describe('res_pjsip', () => {
  it('UpdateConfig changes the file at once but the endpoint list only after Reload of res_pjsip', async () => {
    h = await startHarness();
    const empty = await h.client.action('PJSIPShowEndpoints');
    expect(empty.raw).toBe(`Response: Error\r\nActionID: ${empty.get('ActionID')}\r\nMessage: No endpoints found\n`);
    const u = await h.client.action('UpdateConfig', [
      ['SrcFilename', 'pjsip_custom.conf'],
      ['DstFilename', 'pjsip_custom.conf'],
      ['Action-000000', 'NewCat'],
      ['Cat-000000', '2001'],
      ['Action-000001', 'Append'],
      ['Cat-000001', '2001'],
      ['Var-000001', 'type'],
      ['Value-000001', 'endpoint'],
    ]);
    expect(u.get('Response')).toBe('Success');
    expect(readConf(h.dir, 'pjsip_custom.conf')).toContain('[2001]\ntype = endpoint\n');
    expect((await h.client.action('PJSIPShowEndpoints')).get('Response')).toBe('Error');
    expect((await h.client.action('Command', [['Command', 'pjsip show endpoints']])).getAll('Output')).toEqual(['No objects found.', '']);
    expect(h.emu.loadedConfig('pjsip_custom.conf')).toEqual([]);
    expect((await h.client.action('Reload', [['Module', 'app_voicemail.so']])).get('Message')).toBe('Module Reloaded');
    expect((await h.client.action('PJSIPShowEndpoints')).get('Response')).toBe('Error');
    expect((await h.client.action('Reload', [['Module', 'res_pjsip']])).get('Message')).toBe('Module Reloaded');
    expect(await endpoints()).toEqual(['2001']);
    expect(h.emu.loadedConfig('pjsip_custom.conf')).toEqual([
      { name: '2001', file: 'pjsip_custom.conf', isTemplate: false, templates: [], variables: [{ name: 'type', value: 'endpoint' }] },
    ]);
    const out = (await h.client.action('Command', [['Command', 'pjsip show endpoints']])).getAll('Output');
    const row = out.find((l) => l.startsWith(' Endpoint:  2001')) as string;
    expect([row.indexOf('Unavailable'), row.indexOf('0 of inf')]).toEqual([65, 79]);
    expect(out.slice(-3)).toEqual(['', '', 'Objects found: 1']);
  });

  it('UpdateConfig Reload: res_pjsip answers first, then one Reload event; the new endpoint is listed', async () => {
    h = await startHarness();
    const c = await h.connect('system');
    await c.drain();
    const r = await c.action('UpdateConfig', [
      ['SrcFilename', 'pjsip_custom.conf'],
      ['DstFilename', 'pjsip_custom.conf'],
      ['Reload', 'res_pjsip'],
      ['Action-000000', 'NewCat'],
      ['Cat-000000', '3001'],
      ['Action-000001', 'Append'],
      ['Cat-000001', '3001'],
      ['Var-000001', 'type'],
      ['Value-000001', 'endpoint'],
    ]);
    expect(r.get('Response')).toBe('Success');
    expect((await c.nextMessage()).raw).toBe('Event: Reload\r\nPrivilege: system,all\r\nModule: res_pjsip\r\nStatus: 0');
    expect(await endpoints()).toEqual(['3001']);
  });

  it('EndpointList and EndpointDetail fields, list completion with ListItems, PJSIP/ prefix', async () => {
    h = await startHarness({ ...BASE_FILES, 'pjsip_custom.conf': ENDPOINT_1001 });
    const list = await h.client.list('PJSIPShowEndpoints');
    expect(list.ack.get('EventList')).toBe('start');
    expect(list.items[0]!.raw).toBe(
      `Event: EndpointList\r\nActionID: ${list.ack.get('ActionID')}\r\nObjectType: endpoint\r\nObjectName: 1001\r\nTransport: \r\nAor: 1001\r\nAuths: 1001-auth\r\nOutboundAuths: \r\nContacts: \r\nDeviceState: Unavailable\r\nActiveChannels: 0`,
    );
    expect(list.complete?.get('ListItems')).toBe('1');
    const detail = await h.client.list('PJSIPShowEndpoint', [['Endpoint', 'pjsip/1001']]);
    expect(detail.items.map((i) => i.get('Event'))).toEqual(['EndpointDetail', 'AuthDetail', 'AorDetail']);
    expect(detail.complete?.get('ListItems')).toBe('3');
    const ep = detail.items[0]!;
    expect(ep.get('Allow')).toBe('(ulaw|alaw)');
    expect(ep.get('Context')).toBe('from-internal');
    expect(ep.get('Callerid')).toBe('<unknown>');
    expect(detail.items[1]!.get('Password')).toBe('s3cret');
    expect(detail.items[2]!.get('MaxContacts')).toBe('1');
    const unknown = await h.client.action('PJSIPShowEndpoint', [['Endpoint', '9999']]);
    expect(unknown.raw.endsWith('Message: Unable to retrieve endpoint 9999\n')).toBe(true);
    const noName = await h.client.action('PJSIPShowEndpoint');
    expect(noName.get('Message')).toBe('PJSIPShowEndpoint requires an endpoint name\n');
  });

  it('templates are not objects; an endpoint inherits the template options', async () => {
    h = await startHarness({
      ...BASE_FILES,
      'pjsip_custom.conf': '[ep-base](!)\ntype=endpoint\ncontext=from-phones\ndirect_media=no\n[4001](ep-base)\ncallerid=Bob <4001>\n[noType]\ncontext=x\n',
    });
    expect(await endpoints()).toEqual(['4001']);
    const d = await h.client.list('PJSIPShowEndpoint', [['Endpoint', '4001']]);
    expect(d.items[0]!.get('Context')).toBe('from-phones');
    expect(d.items[0]!.get('DirectMedia')).toBe('false');
    expect(d.items[0]!.get('Callerid')).toBe('"Bob" <4001>');
  });

  it('an object with an unknown option keeps its previous version (or stays absent); others reload', async () => {
    h = await startHarness({ ...BASE_FILES, 'pjsip_custom.conf': '[a1]\ntype=endpoint\ncontext=old\n' });
    writeConf(h.dir, 'pjsip_custom.conf', '[a1]\ntype=endpoint\ncontext=new\nno_such_option=1\n[b1]\ntype=endpoint\ncontxt=typo\n[c1]\ntype=endpoint\n');
    expect((await h.client.action('Reload', [['Module', 'res_pjsip']])).get('Message')).toBe('Module Reloaded');
    expect(await endpoints()).toEqual(['a1', 'c1']);
    const d = await h.client.list('PJSIPShowEndpoint', [['Endpoint', 'a1']]);
    expect(d.items[0]!.get('Context')).toBe('old');
  });

  it('same id twice rejects the whole type; an unparsable pjsip.conf keeps everything; a broken include is cut short', async () => {
    h = await startHarness({ ...BASE_FILES, 'pjsip_custom.conf': '[a1]\ntype=endpoint\n' });
    writeConf(h.dir, 'pjsip_custom.conf', '[x1]\ntype=endpoint\n[x1]\ntype=endpoint\n');
    await h.client.action('Reload', [['Module', 'res_pjsip']]);
    expect(await endpoints()).toEqual(['a1']);
    // pjsip.conf itself unparsable: every running object stays.
    writeConf(h.dir, 'pjsip_custom.conf', '[a1]\ntype=endpoint\n[b1]\ntype=endpoint\n');
    writeConf(h.dir, 'pjsip.conf', 'stray=1\n#include pjsip_custom.conf\n');
    expect((await h.client.action('Reload', [['Module', 'res_pjsip']])).get('Message')).toBe('Module Reloaded');
    expect(await endpoints()).toEqual(['a1']);
    // An unparsable #included file only stops reading that file (config.c treats its status as "included"):
    // what it held disappears from the running state.
    writeConf(h.dir, 'pjsip.conf', BASE_FILES['pjsip.conf'] as string);
    writeConf(h.dir, 'pjsip_custom.conf', '[b1]\ntype=endpoint\n[broken\n[a1]\ntype=endpoint\n');
    await h.client.action('Reload');
    expect(await endpoints()).toEqual(['b1']);
  });

  it('transports only change on reload when the running transport has allow_reload=yes', async () => {
    const conf = (bind: string, extra = '') =>
      `[t1]\ntype=transport\nprotocol=udp\nbind=${bind}\n${extra}[e1]\ntype=endpoint\ntransport=t1\n`;
    h = await startHarness({ ...BASE_FILES, 'pjsip_custom.conf': conf('127.0.0.1:5070') });
    const bindOf = async () => (await h.client.list('PJSIPShowEndpoint', [['Endpoint', 'e1']])).items.find((i) => i.get('Event') === 'TransportDetail')?.get('Bind');
    writeConf(h.dir, 'pjsip_custom.conf', conf('127.0.0.1:5080'));
    await h.client.action('Reload', [['Module', 'res_pjsip']]);
    expect(await bindOf()).toBe('127.0.0.1:5070');
  });
});

describe('Reload action', () => {
  it('unknown module, module without reload, failing reload: texts and Reload event statuses', async () => {
    h = await startHarness();
    const ev = await h.connect('system');
    await ev.drain();
    const cases: Array<[string, string, number]> = [
      ['no_such_mod', 'No such module', 2],
      ['chan_pjsip.so', 'Module does not support reload', 6],
    ];
    for (const [mod, msg, status] of cases) {
      const r = await h.client.action('Reload', [['Module', mod]]);
      expect(r.raw).toBe(`Response: Error\r\nActionID: ${r.get('ActionID')}\r\nMessage: ${msg}`);
      expect((await ev.nextMessage()).raw).toBe(`Event: Reload\r\nPrivilege: system,all\r\nModule: ${mod}\r\nStatus: ${status}`);
    }
    writeConf(h.dir, 'confbridge_custom.conf', '[p]\ntype=bridge\nnot_an_option=1\n');
    const bad = await h.client.action('Reload', [['Module', 'app_confbridge']]);
    expect(bad.get('Message')).toBe('An unknown error occurred');
    expect((await ev.nextMessage()).get('Status')).toBe('3');
    expect(h.emu.reloadAll()).toBe(0);
    expect((await ev.nextMessage()).raw).toBe('Event: Reload\r\nPrivilege: system,all\r\nModule: All\r\nStatus: 0');
  });
});

describe('app_confbridge + pbx_config', () => {
  const EXT = '[from-internal-custom]\nexten => 8000,1,Answer()\n same => n,ConfBridge(8000,conf8000_bridge,conf8000_user)\n same => n,Hangup()\n';
  const PROFILES = '[conf8000_bridge]\ntype=bridge\nmax_members=20\n\n[conf8000_user]\ntype=user\npin=4321\nannounce_user_count=yes\n\n[conf8000_admin]\ntype=user\npin=9999\nadmin=yes\nmarked=yes\n';

  it('rooms exist only while someone is in them; profiles and dialplan come from the loaded config', async () => {
    h = await startHarness();
    expect((await h.client.action('ConfbridgeListRooms')).get('Message')).toBe('No active conferences.');
    writeConf(h.dir, 'extensions_custom.conf', EXT);
    writeConf(h.dir, 'confbridge_custom.conf', PROFILES);
    expect(() => h.emu.dial('8000', 'from-internal')).toThrow(/No extension/);
    await h.client.action('Reload', [['Module', 'pbx_config']]);
    expect(() => h.emu.dial('8000', 'from-internal', { pin: '4321' })).toThrow(/profile/);
    await h.client.action('Reload', [['Module', 'app_confbridge']]);
    expect(() => h.emu.dial('8000', 'from-internal', { pin: '0000' })).toThrow(/PIN/);
    const chan = h.emu.dial('8000', 'from-internal', { callerIdNum: '1001', callerIdName: 'Alice', pin: '4321' });
    const admin = h.emu.joinConference({ conference: '8000', bridgeProfile: 'conf8000_bridge', userProfile: 'conf8000_admin', pin: '9999', callerIdNum: '1002' });
    const rooms = await h.client.list('ConfbridgeListRooms');
    expect(rooms.ack.get('Message')).toBe('Confbridge conferences will follow');
    expect(rooms.items.map((i) => [i.get('Conference'), i.get('Parties'), i.get('Marked'), i.get('Locked')])).toEqual([['8000', '2', '1', 'No']]);
    const users = await h.client.list('ConfbridgeList', [['Conference', '8000']]);
    expect(users.items.map((i) => [i.get('CallerIDNum'), i.get('Admin'), i.get('MarkedUser'), i.get('Channel')])).toEqual([
      ['1001', 'No', 'No', chan],
      ['1002', 'Yes', 'Yes', admin],
    ]);
    expect(users.complete?.get('ListItems')).toBe('2');
    expect((await h.client.action('ConfbridgeList', [['Conference', '9']])).get('Message')).toBe('No Conference by that name found.');
    expect((await h.client.action('ConfbridgeList')).get('Message')).toBe('No Conference name provided.');
    h.emu.hangup(chan);
    h.emu.hangup(admin);
    expect((await h.client.action('ConfbridgeListRooms')).get('Message')).toBe('No active conferences.');
  });
});

describe('app_voicemail', () => {
  it('empty list is a plain Success without EventList; mailboxes appear after Reload, without the PIN', async () => {
    h = await startHarness();
    const empty = await h.client.action('VoicemailUsersList');
    expect(empty.raw).toBe(`Response: Success\r\nActionID: ${empty.get('ActionID')}\r\nMessage: There are no voicemail users currently defined.`);
    expect(await h.client.drain()).toBe('');
    const u = await h.client.action('UpdateConfig', [
      ['SrcFilename', 'voicemail.conf'],
      ['DstFilename', 'voicemail.conf'],
      ['Action-000000', 'Append'],
      ['Cat-000000', 'default'],
      ['Var-000000', '1001'],
      ['Value-000000', '>8642,Alice Example,alice@example.org,,attach=yes|tz=central'],
    ]);
    expect(u.get('Response')).toBe('Success');
    expect(readConf(h.dir, 'voicemail.conf')).toContain('1001 => 8642,Alice Example,alice@example.org,,attach=yes|tz=central\n');
    expect((await h.client.action('VoicemailUsersList')).get('EventList')).toBeUndefined();
    await h.client.action('Reload', [['Module', 'app_voicemail']]);
    const list = await h.client.list('VoicemailUsersList');
    expect(list.ack.get('Message')).toBe('Voicemail user list will follow');
    const e = list.items[0]!;
    expect([e.get('Event'), e.get('VMContext'), e.get('VoiceMailbox'), e.get('Fullname'), e.get('Email')]).toEqual([
      'VoicemailUserEntry',
      'default',
      '1001',
      'Alice Example',
      'alice@example.org',
    ]);
    expect([e.get('AttachMessage'), e.get('TimeZone')]).toEqual(['Yes', 'central']);
    expect(list.items.map((i) => i.raw).join('')).not.toContain('8642');
    expect(list.complete?.get('Event')).toBe('VoicemailUserEntryComplete');
  });
});

describe('Command', () => {
  it('framing, errors, blacklist, module reload text, dialplan show of the loaded dialplan', async () => {
    h = await startHarness();
    const v = await h.client.action('Command', [['Command', 'core show version']]);
    expect(v.get('Message')).toBe('Command output follows');
    expect(v.getAll('Output')).toHaveLength(1);
    expect(v.get('Output')).toMatch(/^Asterisk 22\.10\.1 built by .+ UTC$/);
    const bad = await h.client.action('Command', [['Command', 'core show nonsense now']]);
    expect(bad.get('Response')).toBe('Error');
    expect(bad.get('Message')).toBe('Command output follows');
    expect(bad.get('Output')).toBe("No such command 'core show nonsense now' (type 'core show help core show nonsense now' for other possible commands)");
    expect((await h.client.action('Command', [['Command', 'module load res_x.so']])).get('Message')).toBe('Command blacklisted');
    expect((await h.client.action('Command', [['Command', '  Restart   gracefully']])).get('Message')).toBe('Command blacklisted');
    expect((await h.client.action('Command')).get('Message')).toBe('No command provided');
    const mr = await h.client.action('Command', [['Command', 'module reload res_pjsip.so']]);
    expect(mr.getAll('Output')).toEqual(["Module 'res_pjsip.so' reloaded successfully."]);
    writeConf(h.dir, 'extensions_custom.conf', '[from-internal-custom]\nexten => 1001,1,Dial(PJSIP/1001,25)\n same => n,Hangup()\n');
    const before = await h.client.action('Command', [['Command', 'dialplan show 1001@from-internal-custom']]);
    expect(before.get('Response')).toBe('Error');
    expect((await h.client.action('Command', [['Command', 'dialplan reload']])).get('Output')).toBe('Dialplan reloaded.');
    const after = await h.client.action('Command', [['Command', 'dialplan show 1001@from-internal-custom']]);
    expect(after.get('Response')).toBe('Success');
    expect(after.getAll('Output')).toEqual([
      "[ Context 'from-internal-custom' created by 'pbx_config' ]",
      `  '1001' =>         ${'1. Dial(PJSIP/1001,25)'.padEnd(45)} [extensions_custom.conf:2]`,
      `                    ${'2. Hangup()'.padEnd(45)} [extensions_custom.conf:3]`,
      '-= 1 extension (2 priorities) in 1 context. =-',
    ]);
  });
});

describe('CoreStatus and Status', () => {
  it('CoreStatus reports startup and last reload times; Status lists no channels with ListItems and Items', async () => {
    h = await startHarness();
    const cs = await h.client.action('CoreStatus');
    expect(cs.lines.slice(2).map((l) => l.split(':')[0])).toEqual([
      'CoreStartupDate',
      'CoreStartupTime',
      'CoreReloadDate',
      'CoreReloadTime',
      'CoreCurrentCalls',
      'CoreProcessedCalls',
    ]);
    expect(cs.get('CoreStartupDate')).toMatch(/^\d{4}-\d\d-\d\d$/);
    expect(cs.get('CoreReloadTime')).toMatch(/^\d\d:\d\d:\d\d$/);
    const st = await h.client.list('Status');
    expect(st.ack.get('Message')).toBe('Channel status will follow');
    expect(st.items).toEqual([]);
    expect(st.complete?.raw).toBe(`Event: StatusComplete\r\nActionID: ${st.ack.get('ActionID')}\r\nEventList: Complete\r\nListItems: 0\r\nItems: 0`);
    expect((await h.client.action('Status', [['Channel', 'PJSIP/1001-00000001']])).get('Message')).toBe('No such channel');
  });
});
