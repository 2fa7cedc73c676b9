// Actions over the running state: Reload, Command, CoreStatus, Status, PJSIPShow*, Confbridge lists, VoicemailUsersList.
import type { ActionContext, ActionDefinition } from './action-types.js';
import { asciiLower, astStrip, strcaseeq } from './c-strings.js';
import { runCli } from './cli-commands.js';
import { EVENT_FLAG } from './permissions.js';
import { AOR_FIELDS, AUTH_FIELDS, ENDPOINT_FIELDS, camelName } from './pjsip-fields.js';
import { Reply, getHeader, type AmiMessage } from './protocol.js';
import { RELOAD } from './runtime.js';
import { ConfbridgeRuntime, type Conference, type Participant } from './runtime-confbridge.js';
import { PjsipRuntime, type PjsipObject } from './runtime-pjsip.js';

type Fields = Array<[string, string | number]>;

const RELOAD_MESSAGES: Record<number, [string, string]> = {
  [RELOAD.NOT_FOUND]: ['Error', 'No such module'],
  [RELOAD.NOT_IMPLEMENTED]: ['Error', 'Module does not support reload'],
  [RELOAD.ERROR]: ['Error', 'An unknown error occurred'],
  [RELOAD.IN_PROGRESS]: ['Error', 'A reload is in progress'],
  [RELOAD.UNINITIALIZED]: ['Error', 'Module not initialized'],
  [RELOAD.QUEUED]: ['Success', 'Module Reloaded'],
  [RELOAD.SUCCESS]: ['Success', 'Module Reloaded'],
};

function reload(ctx: ActionContext, m: AmiMessage): void {
  const module = getHeader(m, 'Module');
  const status = ctx.server.runtime.reload(module || null);
  const [resp, msg] = RELOAD_MESSAGES[status] ?? ['Error', 'An unknown error occurred'];
  ctx.write(Reply.response(m, resp, msg).toString());
}

/** check_blacklist(): first words "module load", "module unload", "restart gracefully". */
function blacklisted(cmd: string): boolean {
  const words = cmd.split(' ').map((w) => astStrip(w)).filter((w) => w !== '');
  const lists = [
    ['module', 'load'],
    ['module', 'unload'],
    ['restart', 'gracefully'],
  ];
  return lists.some((l) => l.every((w, i) => words[i] !== undefined && strcaseeq(words[i] as string, w)));
}

/** term_strip(): remove terminal escape sequences. */
function termStrip(s: string): string {
  return s.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');
}

function command(ctx: ActionContext, m: AmiMessage): void {
  const cmd = getHeader(m, 'Command');
  if (!cmd) return ctx.write(Reply.error(m, 'No command provided').toString());
  if (blacklisted(cmd)) return ctx.write(Reply.error(m, 'Command blacklisted').toString());
  const res = runCli(cmd, { runtime: ctx.server.runtime, version: ctx.server.version, buildDate: ctx.server.buildDate });
  const out = Reply.response(m, res.ok ? 'Success' : 'Error', null, { moreData: true });
  let text = termStrip(res.output);
  if (text.endsWith('\n')) text = text.slice(0, -1);
  out.line('Message', 'Command output follows');
  for (const line of text.split('\n')) out.line('Output', line);
  ctx.write(out.end().toString());
}

function localDateTime(ms: number): { date: string; time: string } {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return { date: `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`, time: `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}` };
}

function coreStatus(ctx: ActionContext, m: AmiMessage): void {
  const rt = ctx.server.runtime;
  const start = localDateTime(rt.startTime);
  const reloaded = localDateTime(rt.lastReloadTime);
  const out = Reply.startAck(m)
    .line('CoreStartupDate', start.date)
    .line('CoreStartupTime', start.time)
    .line('CoreReloadDate', reloaded.date)
    .line('CoreReloadTime', reloaded.time)
    .line('CoreCurrentCalls', 0)
    .line('CoreProcessedCalls', 0)
    .end();
  ctx.write(out.toString());
}

/** Status: the emulator has no channels (a named channel does not exist; the full list is empty). */
function status(ctx: ActionContext, m: AmiMessage): void {
  if (getHeader(m, 'Channel')) return ctx.write(Reply.error(m, 'No such channel').toString());
  const out = Reply.listAck(m, 'Channel status will follow');
  ctx.write(out.listComplete(m, 'StatusComplete', 0, [['Items', 0]]).toString());
}

/** res_pjsip errors carry a trailing LF inside the Message text (a stray line on the wire). */
function pjsipError(m: AmiMessage, text: string): string {
  return Reply.error(m, `${text}\n`).toString();
}

function endpointListFields(ep: PjsipObject): Fields {
  const f: Fields = [
    ['ObjectType', 'endpoint'],
    ['ObjectName', ep.id],
    ['Transport', ep.values.get('transport') ?? ''],
    ['Aor', ep.values.get('aors') ?? ''],
    ['Auths', PjsipRuntime.authNames(ep, 'auth').join(',')],
    ['OutboundAuths', PjsipRuntime.authNames(ep, 'outbound_auth').join(',')],
  ];
  for (let i = 0; i < PjsipRuntime.aorNames(ep).length; i++) f.push(['Contacts', '']);
  f.push(['DeviceState', 'Unavailable'], ['ActiveChannels', 0]);
  return f;
}

function showEndpoints(ctx: ActionContext, m: AmiMessage): void {
  const eps = ctx.server.runtime.pjsip.list('endpoint');
  if (eps.length === 0) return ctx.write(pjsipError(m, 'No endpoints found'));
  const out = Reply.listAck(m, 'A listing of Endpoints follows, presented as EndpointList events');
  for (const ep of eps) out.event(m, 'EndpointList', endpointListFields(ep));
  ctx.write(out.listComplete(m, 'EndpointListComplete', eps.length).toString());
}

function objectFields(type: string, obj: PjsipObject): Fields {
  return [['ObjectType', type], ['ObjectName', obj.id]];
}

function showEndpoint(ctx: ActionContext, m: AmiMessage): void {
  const pjsip = ctx.server.runtime.pjsip;
  let name = getHeader(m, 'Endpoint');
  if (!name) return ctx.write(pjsipError(m, 'PJSIPShowEndpoint requires an endpoint name'));
  if (asciiLower(name).startsWith('pjsip/')) name = name.slice(6);
  const ep = pjsip.get('endpoint', name);
  if (!ep) return ctx.write(pjsipError(m, `Unable to retrieve endpoint ${name}`));
  const out = Reply.listAck(m, 'Following are Events for each object associated with the Endpoint');
  let count = 1;
  out.event(m, 'EndpointDetail', [
    ...objectFields('endpoint', ep),
    ...PjsipRuntime.render(ENDPOINT_FIELDS, ep),
    ['DeviceState', 'Unavailable'],
    ['ActiveChannels', 0],
  ]);
  for (const option of ['auth', 'outbound_auth'] as const) {
    for (const a of PjsipRuntime.authNames(ep, option)) {
      const auth = pjsip.get('auth', a);
      if (!auth) continue;
      out.event(m, 'AuthDetail', [...objectFields('auth', auth), ...PjsipRuntime.render(AUTH_FIELDS, auth), ['EndpointName', ep.id]]);
      count++;
    }
  }
  for (const a of PjsipRuntime.aorNames(ep)) {
    const aor = pjsip.get('aor', a);
    if (!aor) continue;
    out.event(m, 'AorDetail', [
      ...objectFields('aor', aor),
      ...PjsipRuntime.render(AOR_FIELDS, aor),
      ['TotalContacts', aor.values.get('contact') ? 1 : 0],
      ['ContactsRegistered', 0],
      ['EndpointName', ep.id],
    ]);
    count++;
  }
  const tname = ep.values.get('transport');
  const transport = tname ? pjsip.get('transport', tname) : undefined;
  if (transport) {
    const f: Fields = objectFields('transport', transport);
    for (const [k, v] of transport.values) f.push([camelName(k), v]);
    out.event(m, 'TransportDetail', [...f, ['EndpointName', ep.id]]);
    count++;
  }
  for (const ident of pjsip.list('identify')) {
    if (ident.values.get('endpoint') !== ep.id) continue;
    const f: Fields = objectFields('identify', ident);
    for (const [k, v] of ident.values) f.push([camelName(k), v]);
    out.event(m, 'IdentifyDetail', [...f, ['EndpointName', ep.id]]);
    count++;
  }
  ctx.write(out.listComplete(m, 'EndpointDetailComplete', count).toString());
}

function showAors(ctx: ActionContext, m: AmiMessage): void {
  const aors = ctx.server.runtime.pjsip.list('aor');
  if (aors.length === 0) return ctx.write(pjsipError(m, 'No AORs found'));
  const out = Reply.listAck(m, 'A listing of AORs follows, presented as AorList events');
  for (const a of aors) out.event(m, 'AorList', [...objectFields('aor', a), ...PjsipRuntime.render(AOR_FIELDS, a)]);
  ctx.write(out.listComplete(m, 'AorListComplete', aors.length).toString());
}

function showAuths(ctx: ActionContext, m: AmiMessage): void {
  const auths = ctx.server.runtime.pjsip.list('auth');
  if (auths.length === 0) return ctx.write(pjsipError(m, 'No Auths found'));
  const out = Reply.listAck(m, 'A listing of Auths follows, presented as AuthList events');
  for (const a of auths) out.event(m, 'AuthList', [...objectFields('auth', a), ...PjsipRuntime.render(AUTH_FIELDS, a)]);
  ctx.write(out.listComplete(m, 'AuthListComplete', auths.length).toString());
}

function showContacts(ctx: ActionContext, m: AmiMessage): void {
  // Nothing ever registers with the emulator.
  ctx.write(pjsipError(m, 'No Contacts found'));
}

function showRegistrationsInbound(ctx: ActionContext, m: AmiMessage): void {
  const aors = ctx.server.runtime.pjsip.list('aor');
  const out = Reply.listAck(m, 'Following are Events for each Inbound registration');
  for (const a of aors) {
    const fields = PjsipRuntime.render(AOR_FIELDS, a).map(([k, v]): [string, string] => [k === 'Contacts' ? 'Contact' : k, v]);
    out.event(m, 'InboundRegistrationDetail', [...objectFields('aor', a), ...fields, ['Contacts', '']]);
  }
  ctx.write(out.listComplete(m, 'InboundRegistrationDetailComplete', aors.length).toString());
}

const yes = (b: boolean) => (b ? 'Yes' : 'No');

function listRooms(ctx: ActionContext, m: AmiMessage): void {
  const confs = ctx.server.runtime.confbridge.list();
  if (confs.length === 0) return ctx.write(Reply.error(m, 'No active conferences.').toString());
  const out = Reply.listAck(m, 'Confbridge conferences will follow');
  for (const c of confs) {
    out.event(m, 'ConfbridgeListRooms', [
      ['Conference', c.name],
      ['Parties', c.users.length],
      ['Marked', c.users.filter((u) => ConfbridgeRuntime.flag(u, 'marked')).length],
      ['Locked', yes(c.locked)],
      ['Muted', yes(c.muted)],
    ]);
  }
  ctx.write(out.listComplete(m, 'ConfbridgeListRoomsComplete', confs.length).toString());
}

function participantFields(c: Conference, u: Participant, waiting: boolean): Fields {
  return [
    ['Conference', c.name],
    ['Admin', yes(ConfbridgeRuntime.flag(u, 'admin'))],
    ['MarkedUser', yes(ConfbridgeRuntime.flag(u, 'marked'))],
    ['WaitMarked', yes(ConfbridgeRuntime.flag(u, 'wait_marked'))],
    ['EndMarked', yes(ConfbridgeRuntime.flag(u, 'end_marked'))],
    ['EndMarkedAny', yes(ConfbridgeRuntime.flag(u, 'end_marked_any'))],
    ['Waiting', yes(waiting)],
    ['Muted', yes(u.muted)],
    ['Talking', 'No'],
    ['AnsweredTime', Math.floor((Date.now() - u.joinedAt) / 1000)],
    ['Channel', u.channel],
    ['ChannelState', 6],
    ['ChannelStateDesc', 'Up'],
    ['CallerIDNum', u.callerIdNum || '<unknown>'],
    ['CallerIDName', u.callerIdName || '<unknown>'],
    ['ConnectedLineNum', '<unknown>'],
    ['ConnectedLineName', '<unknown>'],
    ['Language', 'en'],
    ['AccountCode', ''],
    ['Context', u.context],
    ['Exten', u.exten],
    ['Priority', u.priority],
    ['Uniqueid', u.uniqueid],
    ['Linkedid', u.uniqueid],
  ];
}

function confbridgeList(ctx: ActionContext, m: AmiMessage): void {
  const name = getHeader(m, 'Conference');
  if (!name) return ctx.write(Reply.error(m, 'No Conference name provided.').toString());
  const cb = ctx.server.runtime.confbridge;
  if (cb.list().length === 0) return ctx.write(Reply.error(m, 'No active conferences.').toString());
  const conf = cb.get(name);
  if (!conf) return ctx.write(Reply.error(m, 'No Conference by that name found.').toString());
  const out = Reply.listAck(m, 'Confbridge user list will follow');
  const active = conf.users.filter((u) => !ConfbridgeRuntime.waiting(conf, u));
  const waiting = conf.users.filter((u) => ConfbridgeRuntime.waiting(conf, u));
  for (const u of active) out.event(m, 'ConfbridgeList', participantFields(conf, u, false));
  for (const u of waiting) out.event(m, 'ConfbridgeList', participantFields(conf, u, true));
  ctx.write(out.listComplete(m, 'ConfbridgeListComplete', conf.users.length).toString());
}

function voicemailUsers(ctx: ActionContext, m: AmiMessage): void {
  const vm = ctx.server.runtime.voicemail;
  const boxes = vm.list();
  if (boxes.length === 0) return ctx.write(Reply.ack(m, 'There are no voicemail users currently defined.').toString());
  const out = Reply.listAck(m, 'Voicemail user list will follow');
  for (const b of boxes) out.event(m, 'VoicemailUserEntry', vm.entryFields(b));
  ctx.write(out.listComplete(m, 'VoicemailUserEntryComplete', boxes.length).toString());
}

const { system, config, command: commandClass, reporting, call } = EVENT_FLAG;

export const moduleActions: ActionDefinition[] = [
  { name: 'Reload', authority: system | config, handler: reload },
  { name: 'Command', authority: commandClass, handler: command },
  { name: 'CoreStatus', authority: system | reporting, handler: coreStatus },
  { name: 'Status', authority: system | call | reporting, handler: status },
  { name: 'PJSIPShowEndpoints', authority: system, handler: showEndpoints },
  { name: 'PJSIPShowEndpoint', authority: system, handler: showEndpoint },
  { name: 'PJSIPShowAors', authority: system, handler: showAors },
  { name: 'PJSIPShowAuths', authority: system, handler: showAuths },
  { name: 'PJSIPShowContacts', authority: system, handler: showContacts },
  { name: 'PJSIPShowRegistrationsInbound', authority: system, handler: showRegistrationsInbound },
  { name: 'ConfbridgeListRooms', authority: reporting, handler: listRooms },
  { name: 'ConfbridgeList', authority: reporting, handler: confbridgeList },
  { name: 'VoicemailUsersList', authority: call | reporting, handler: voicemailUsers },
];
