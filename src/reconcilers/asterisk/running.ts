// Reads what Asterisk runs (not what its files say) for infrasec's objects: res_pjsip objects, app_voicemail mailboxes,
// the loaded dialplan and where infrasec's numbers are answered from the endpoints' context, ConfBridge profiles.
import type { AmiClient, AmiList, AmiMessage } from './client.ts';
import { fingerprintOf } from './fingerprint.ts';
import type { RunningContext, RunningEndpoint, RunningFields, RunningMailbox, RunningPriority, RunningReach, RunningState, RunningValue } from './model.ts';
import type { AsteriskLayout } from './settings.ts';

/** What observe found in the files that the running side is read for. */
export interface RunningTargets {
  /** Owned pjsip endpoint names. */
  readonly endpoints: readonly string[];
  /** The options those sections set, as *Detail headers name them lower-cased (`dtmf_mode` → `dtmfmode`): the rest is not kept. */
  readonly pjsipOptions: ReadonlySet<string>;
  /** Owned ConfBridge profiles. */
  readonly profiles: ReadonlyArray<{ readonly name: string; readonly type: 'user' | 'bridge' }>;
  /** The extens of infrasec's lines in `context`, as dialled (`25*` included). */
  readonly numbers: readonly string[];
}

/** Headers of EndpointDetail/AorDetail/AuthDetail that name the event, not an option. */
const NOT_OPTIONS = new Set(['event', 'actionid', 'objecttype', 'objectname', 'endpointname', 'devicestate', 'activechannels', 'totalcontacts', 'contactsregistered']);
const SECRET_HEADERS = new Set(['password', 'md5cred', 'oauthsecret', 'refreshtoken']);
const DETAIL_TYPES: Readonly<Record<string, string>> = { EndpointDetail: 'endpoint', AorDetail: 'aor', AuthDetail: 'auth' };

const denied = (m: AmiMessage) => m.isError && /permission denied/i.test(m.message);

/** Every list and action pipelined on the client's one session; parts the AMI user may not read stay undefined. */
export async function readRunning(client: AmiClient, layout: AsteriskLayout, targets: RunningTargets, signal: AbortSignal): Promise<RunningState> {
  const endpoints = client.list('PJSIPShowEndpoints', [], signal).then(endpointSummary);
  const details = Promise.all(targets.endpoints.map((name) => client.list('PJSIPShowEndpoint', [['Endpoint', name]], signal))).then((rs) => endpointDetails(rs, targets.pjsipOptions));
  const mailboxes = client.list('VoicemailUsersList', [], signal).then(runningMailboxes);
  const contexts = [layout.context, layout.messageContext, ...(layout.includeFrom ? [layout.includeFrom] : [])];
  const dialplan = Promise.all(contexts.map((c) => client.list('ShowDialPlan', [['Context', c]], signal).then((r) => [c, r] as const))).then(dialplanOf);
  const reach = Promise.all(targets.numbers.map((n) => client.list('ShowDialPlan', [['Context', layout.endpointContext], ['Extension', n]], signal).then((r) => [n, r] as const))).then((rs) => reachOf(rs, layout));
  const profiles = Promise.all(targets.profiles.map((p) => client.action('Command', [['Command', `confbridge show profile ${p.type} ${p.name}`]], signal).then((m) => [p.name, m] as const))).then(confbridgeOf);
  // One await for all of them: awaiting one by one would leave the later rejections unhandled when an earlier one fails.
  const [e, d, m, dp, r, c] = await Promise.all([endpoints, details, mailboxes, dialplan, reach, profiles]);
  return { endpoints: e, pjsip: d, mailboxes: m, dialplan: dp, reach: r, confbridge: c };
}

/** res_pjsip answers an empty list with an error ("No endpoints found"); any other error leaves the state unknown. */
function endpointSummary(r: AmiList): ReadonlyMap<string, RunningEndpoint> | undefined {
  if (r.response.isError) return /no endpoints found/i.test(r.response.message) ? new Map() : undefined;
  const out = new Map<string, RunningEndpoint>();
  for (const e of r.events) {
    if (e.event !== 'EndpointList') continue;
    const name = e.get('ObjectName') ?? '';
    out.set(name, { name, aor: e.get('Aor') ?? '', auths: e.get('Auths') ?? '', transport: e.get('Transport') ?? '' });
  }
  return out;
}

/** "Unable to retrieve endpoint" means not loaded; a refused action leaves the whole part unknown. */
function endpointDetails(lists: readonly AmiList[], wanted: ReadonlySet<string>): ReadonlyMap<string, RunningFields> | undefined {
  const out = new Map<string, RunningFields>();
  for (const r of lists) {
    if (denied(r.response)) return undefined;
    if (r.response.isError) continue;
    for (const e of r.events) {
      const type = DETAIL_TYPES[e.event ?? ''];
      if (!type) continue;
      const fields = new Map<string, RunningValue>();
      for (const [k, v] of e.headers) {
        const key = k.toLowerCase();
        if (!wanted.has(key) || NOT_OPTIONS.has(key) || fields.has(key)) continue;
        fields.set(key, SECRET_HEADERS.has(key) ? fingerprintOf(v) : v);
      }
      out.set(`${type}/${(e.get('ObjectName') ?? '').toLowerCase()}`, fields);
    }
  }
  return out;
}

/** app_voicemail answers an empty list with a plain Success; the PIN is never listed. */
function runningMailboxes(r: AmiList): ReadonlyMap<string, RunningMailbox> | undefined {
  if (r.response.isError) return undefined;
  const out = new Map<string, RunningMailbox>();
  for (const e of r.events) {
    if (e.event !== 'VoicemailUserEntry') continue;
    const mailbox = e.get('VoiceMailbox') ?? '';
    const context = e.get('VMContext') ?? '';
    out.set(`${mailbox}@${context}`.toLowerCase(), {
      context, mailbox, fullname: e.get('Fullname') ?? '', email: e.get('Email') ?? '', pager: e.get('Pager') ?? '', attach: e.get('AttachMessage') ?? '',
    });
  }
  return out;
}

function priorityOf(e: AmiMessage): RunningPriority {
  return { exten: e.get('Extension') ?? '', priority: e.get('Priority') ?? '', label: e.get('ExtensionLabel') ?? '', app: e.get('Application') ?? '', data: e.get('AppData') ?? '' };
}

/** "Did not find context" means the context is not loaded. */
function dialplanOf(rs: ReadonlyArray<readonly [string, AmiList]>): ReadonlyMap<string, RunningContext | null> | undefined {
  const out = new Map<string, RunningContext | null>();
  for (const [name, r] of rs) {
    if (denied(r.response)) return undefined;
    if (r.response.isError) {
      out.set(name.toLowerCase(), null);
      continue;
    }
    const priorities: RunningPriority[] = [];
    const includes: string[] = [];
    for (const e of r.events) {
      if (e.event !== 'ListDialplan') continue;
      const inc = e.get('IncludeContext');
      if (inc !== undefined) includes.push(inc);
      else if (e.get('Extension') !== undefined) priorities.push(priorityOf(e));
    }
    out.set(name.toLowerCase(), { priorities, includes });
  }
  return out;
}

/**
 * ShowDialPlan with an Extension follows the includes in the order Asterisk searches them and lists every match; the
 * first context listed is the one whose extension a call runs. Each context on the way appears once per path.
 */
function reachOf(rs: ReadonlyArray<readonly [string, AmiList]>, layout: AsteriskLayout): ReadonlyMap<string, RunningReach> | undefined {
  const out = new Map<string, RunningReach>();
  for (const [number, r] of rs) {
    if (denied(r.response)) return undefined;
    if (r.response.isError) {
      out.set(number, { answeredBy: null, reached: false });
      continue;
    }
    const matches = r.events.filter((e) => e.event === 'ListDialplan' && e.get('Extension') !== undefined);
    const reached = matches.some((e) => e.get('Context')?.toLowerCase() === layout.context.toLowerCase());
    out.set(number, { answeredBy: matches[0]?.get('Context') ?? null, reached });
  }
  return out;
}

/** `confbridge show profile user|bridge NAME`: "Label:   value" lines; PIN kept as a fingerprint only. */
function confbridgeOf(rs: ReadonlyArray<readonly [string, AmiMessage]>): ReadonlyMap<string, RunningFields | null> | 'no-permission' {
  const out = new Map<string, RunningFields | null>();
  for (const [name, m] of rs) {
    if (denied(m)) return 'no-permission';
    const lines = m.headers.filter(([k]) => k === 'Output').map(([, v]) => v);
    if (m.isError || lines.some((l) => /^No conference (user|bridge) profile named/.test(l))) {
      out.set(name.toLowerCase(), null);
      continue;
    }
    const fields = new Map<string, RunningValue>();
    for (const line of lines) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const key = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (!fields.has(key)) fields.set(key, key === 'pin' ? fingerprintOf(value === 'None' ? '' : value) : value);
    }
    out.set(name.toLowerCase(), fields);
  }
  return out;
}
