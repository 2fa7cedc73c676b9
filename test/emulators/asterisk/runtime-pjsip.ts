// The "running" res_pjsip: sorcery objects built from pjsip.conf at load/reload, kept apart from the files on disk.
import { asciiLower, astStrip, astTrue, scanInt, strcaseeq } from './c-strings.js';
import type { ConfTree, ConfVariable } from './conf-model.js';
import { loadConfig } from './conf-parser.js';
import { AOR_FIELDS, AUTH_FIELDS, ENDPOINT_EXTRA_OPTIONS, ENDPOINT_FIELDS, camelName, type FieldSpec } from './pjsip-fields.js';

export interface PjsipObject {
  type: string;
  id: string;
  /** Rendered value per option name (last assignment wins), only for options that were set. */
  values: Map<string, string>;
}

/** Sorcery object types res_pjsip maps to pjsip.conf sections (by their `type=` value). */
const OBJECT_TYPES = [
  'endpoint',
  'aor',
  'auth',
  'transport',
  'identify',
  'registration',
  'global',
  'system',
  'domain_alias',
  'acl',
  'contact',
  'phoneprov',
  'outbound-publish',
  'inbound-publication',
  'asterisk-publication',
  'resource_list',
] as const;

/** Types whose option names are checked (an unknown option makes Asterisk reject the object). */
const SCHEMAS: Record<string, Map<string, string>> = {
  endpoint: new Map([...ENDPOINT_FIELDS.map((f) => [f[0], f[1]] as [string, string]), ...ENDPOINT_EXTRA_OPTIONS.map((o) => [o, 'str'] as [string, string])]),
  aor: new Map(AOR_FIELDS.map((f) => [f[0], f[1]])),
  auth: new Map(AUTH_FIELDS.map((f) => [f[0], f[1]])),
};

/** Codecs known to the emulated build, in Asterisk's registration order (used by allow=all). */
const KNOWN_CODECS = [
  'g723', 'gsm', 'ulaw', 'alaw', 'g726', 'adpcm', 'slin', 'lpc10', 'g729', 'speex', 'speex16', 'ilbc', 'g726aal2',
  'g722', 'slin16', 'testlaw', 'g719', 'speex32', 'slin12', 'slin24', 'slin32', 'slin44', 'slin48', 'slin96',
  'slin192', 'opus', 'silk8', 'silk12', 'silk16', 'silk24', 'codec2', 'h261', 'h263', 'h263p', 'h264', 'h265',
  'mpeg4', 'vp8', 'vp9', 'red', 't140', 'siren7', 'siren14', 'jpeg', 'png',
];

/** The callerid option as rendered by sorcery (ast_callerid_merge with "<unknown>" for an empty value). */
export function renderCallerid(v: string): string {
  const s = astStrip(v);
  const m = /^(.*?)\s*<([^>]*)>\s*$/.exec(s);
  let name: string;
  let num: string;
  if (m) {
    name = astStrip(m[1] ?? '');
    num = m[2] ?? '';
    if (name.startsWith('"') && name.endsWith('"') && name.length >= 2) name = name.slice(1, -1);
  } else if (/^[0-9*#+() -]+$/.test(s)) {
    name = '';
    num = s;
  } else {
    name = s.replace(/^"(.*)"$/, '$1');
    num = '';
  }
  if (name && num) return `"${name.replace(/(["\\])/g, '\\$1')}" <${num}>`;
  if (name) return name;
  if (num) return num;
  return '<unknown>';
}

function splitList(v: string): string[] {
  return v
    .split(',')
    .map((x) => astStrip(x))
    .filter((x) => x !== '');
}

/** Apply one option value; null means Asterisk rejects the value (and therefore the whole object). */
function renderOption(type: string, value: string, codecs: string[], name: string): string | null {
  if (type === 'bool') return astTrue(value) ? 'true' : 'false';
  if (type === 'yesno') return astTrue(value) ? 'yes' : 'no';
  if (type === 'Yesno') return astTrue(value) ? 'Yes' : 'No';
  if (type === 'int') {
    const n = scanInt(value);
    return n === null ? null : String(n);
  }
  if (type === 'float') {
    const n = Number.parseFloat(value);
    return Number.isFinite(n) ? n.toFixed(6) : null;
  }
  if (type.startsWith('enum:')) {
    const allowed = type.slice(5).split('|');
    const hit = allowed.find((a) => strcaseeq(a, astStrip(value)));
    if (hit === undefined) return null;
    if (name === 'dtls_verify') return hit[0]!.toUpperCase() + hit.slice(1);
    return hit;
  }
  if (type === 'list') return splitList(value).join(',');
  if (type === 'callerid') return renderCallerid(value);
  if (type === 'codecs') {
    for (const c of splitList(asciiLower(value))) {
      if (c === 'all') {
        for (const k of KNOWN_CODECS) if (!codecs.includes(k)) codecs.push(k);
      } else if (!KNOWN_CODECS.includes(c)) {
        return null;
      } else if (!codecs.includes(c)) {
        codecs.push(c);
      }
    }
    return codecs.length ? `(${codecs.join('|')})` : '(nothing)';
  }
  return value;
}

/** ast_sorcery_objectset_apply(): null when any option is unknown or invalid. */
function buildObject(type: string, id: string, vars: ConfVariable[]): PjsipObject | null {
  const schema = SCHEMAS[type];
  const values = new Map<string, string>();
  const codecs: string[] = [];
  for (const v of vars) {
    const name = asciiLower(v.name);
    if (name === 'type') continue;
    if (!schema) {
      values.set(name, v.value);
      continue;
    }
    if (name === 'disallow') {
      for (const c of splitList(asciiLower(v.value))) {
        if (c === 'all') codecs.length = 0;
        else if (!KNOWN_CODECS.includes(c)) return null;
        else if (codecs.includes(c)) codecs.splice(codecs.indexOf(c), 1);
      }
      values.set('allow', codecs.length ? `(${codecs.join('|')})` : '(nothing)');
      continue;
    }
    const ftype = schema.get(name);
    if (ftype === undefined) return null;
    const rendered = renderOption(ftype, v.value, codecs, name);
    if (rendered === null) return null;
    values.set(name, rendered);
  }
  if (type === 'endpoint' && values.get('webrtc') === 'yes') {
    // sip_endpoint_apply_handler(): webrtc=yes forces the WebRTC media settings.
    values.set('rtcp_mux', 'true');
    values.set('use_avpf', 'true');
    values.set('ice_support', 'true');
    values.set('media_use_received_transport', 'true');
    values.set('bundle', 'true');
    values.set('media_encryption', 'dtls');
    values.set('dtls_verify', 'Fingerprint');
    values.set('dtls_setup', 'actpass');
    values.set('dtls_rekey', '0');
    if (!values.get('dtls_cert_file')) values.set('dtls_auto_generate_cert', 'Yes');
  }
  return { type, id, values };
}

export class PjsipRuntime {
  private objects = new Map<string, Map<string, PjsipObject>>();
  /** The pjsip.conf tree used by the last successful load (what is "running"). */
  loadedTree: ConfTree | null = null;

  constructor(private readonly configDir: string) {}

  /**
   * Sorcery reload: a file that fails to parse keeps every previous object; a duplicate id within a type keeps the
   * previous objects of that type; an object with an invalid option keeps its previous version (or stays absent).
   * Transports only change when the existing transport has allow_reload=yes. Always "Module Reloaded".
   */
  reload(): number {
    const tree = loadConfig(this.configDir, 'pjsip.conf');
    if (tree === 'invalid' || tree === 'missing') return 0;
    this.loadedTree = tree;
    for (const type of OBJECT_TYPES) {
      const old = this.objects.get(type) ?? new Map<string, PjsipObject>();
      const next = new Map<string, PjsipObject>();
      let duplicate = false;
      for (const cat of tree.categories) {
        if (cat.ignored) continue;
        const typeVar = cat.vars.find((v) => strcaseeq(v.name, 'type'));
        if (!typeVar || typeVar.value !== type) continue;
        const obj = buildObject(type, cat.name, cat.vars);
        if (!obj) {
          const prev = old.get(cat.name);
          if (prev && !next.has(cat.name)) next.set(cat.name, prev);
          continue;
        }
        if (next.has(cat.name)) {
          duplicate = true;
          break;
        }
        next.set(cat.name, obj);
      }
      if (duplicate) continue;
      if (type === 'transport') {
        for (const [id, prev] of old) {
          if (next.has(id) && !astTrue(prev.values.get('allow_reload'))) next.set(id, prev);
        }
      }
      this.objects.set(type, next);
    }
    return 0;
  }

  /** Objects of a type, sorted by id like sorcery's retrieve-all containers. */
  list(type: string): PjsipObject[] {
    const m = this.objects.get(type);
    if (!m) return [];
    return [...m.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  get(type: string, id: string): PjsipObject | undefined {
    return this.objects.get(type)?.get(id);
  }

  static render(spec: readonly FieldSpec[], obj: PjsipObject): Array<[string, string]> {
    return spec.map(([name, , dflt]) => [camelName(name), obj.values.get(name) ?? dflt]);
  }

  /** Names listed in an endpoint's `aors` option. */
  static aorNames(ep: PjsipObject): string[] {
    return splitList(ep.values.get('aors') ?? '');
  }

  static authNames(ep: PjsipObject, option: 'auth' | 'outbound_auth'): string[] {
    return splitList(ep.values.get(option) ?? '');
  }

  /** `pjsip show endpoints` CLI text (column layout taken from real outputs; contacts/channels never shown). */
  cliShowEndpoints(): string {
    const eps = this.list('endpoint');
    if (eps.length === 0) return 'No objects found.\n\n';
    let out = '\n';
    out += ' Endpoint:  <Endpoint/CID.....................................>  <State.....>  <Channels.>\n';
    out += '    I/OAuth:  <AuthId/UserName...........................................................>\n';
    out += '        Aor:  <Aor............................................>  <MaxContact>\n';
    out += '      Contact:  <Aor/ContactUri..........................> <Hash....> <Status> <RTT(ms)..>\n';
    out += '  Transport:  <TransportId........>  <Type>  <cos>  <tos>  <BindAddress..................>\n';
    out += '   Identify:  <Identify/Endpoint.........................................................>\n';
    out += '        Match:  <criteria.........................>\n';
    out += '    Channel:  <ChannelId......................................>  <State.....>  <Time.....>\n';
    out += '        Exten: <DialedExten...........>  CLCID: <ConnectedLineCID.......>\n';
    out += '==========================================================================================\n\n';
    for (const ep of eps) {
      const cid = ep.values.get('callerid');
      const label = cid ? `${ep.id}/${cid.replace(/^"[^"]*" <(.*)>$/, '$1')}` : ep.id;
      out += ` Endpoint:  ${label.padEnd(53)}${'Unavailable'.padEnd(14)}0 of inf\n`;
      for (const a of PjsipRuntime.authNames(ep, 'auth')) {
        const auth = this.get('auth', a);
        out += `     InAuth:  ${a}/${auth?.values.get('username') ?? ''}\n`;
      }
      for (const a of PjsipRuntime.authNames(ep, 'outbound_auth')) {
        const auth = this.get('auth', a);
        out += `    OutAuth:  ${a}/${auth?.values.get('username') ?? ''}\n`;
      }
      for (const a of PjsipRuntime.aorNames(ep)) {
        const aor = this.get('aor', a);
        if (!aor) continue;
        out += `        Aor:  ${a.padEnd(51)}${aor.values.get('max_contacts') ?? '0'}\n`;
      }
      const t = ep.values.get('transport');
      const tr = t ? this.get('transport', t) : undefined;
      if (t && tr) {
        const num = (k: string) => String(Number.parseInt(tr.values.get(k) ?? '0', 10) || 0);
        out += `  Transport:  ${t.padEnd(26)}${(tr.values.get('protocol') ?? 'udp').padEnd(6)}${num('cos').padStart(4)}${num('tos').padStart(7)}  ${tr.values.get('bind') ?? ''}\n`;
      }
      for (const ident of this.list('identify')) {
        if (ident.values.get('endpoint') !== ep.id) continue;
        out += `   Identify:  ${ident.id}/${ep.id}\n`;
        for (const m of splitList(ident.values.get('match') ?? '')) out += `        Match: ${m}\n`;
      }
      out += '\n';
    }
    out += `\nObjects found: ${eps.length}\n`;
    return out;
  }
}
