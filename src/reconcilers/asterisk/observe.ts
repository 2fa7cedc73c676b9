// Reads the owned files (one GetConfig each) and the voicemail file Asterisk loads, maps them to the desired shape, and has running.ts read what Asterisk runs.
import { Secret } from '../../desired/secret.ts';
import { AuthenticationError, InfrasecError } from '../../errors.ts';
import type { AmiClient, AmiMessage } from './client.ts';
import {
  type AsteriskObject,
  type ConfSection,
  type ConfVar,
  type ContainerState,
  containerId,
  FILE_ROLES,
  type FileRole,
  type LineSpec,
  type LiveAsterisk,
  type LiveFile,
  type ObjectKind,
  type IncludeLink,
  type SectionSpec,
  type VoicemailRoot,
} from './model.ts';
import { LEGACY_OWNERSHIP_TEMPLATE, ownerOf } from './ownership.ts';
import { conferenceKey, extensionKey, parseExten, PROFILE_SUFFIXES } from './render.ts';
import { readRunning, type RunningTargets } from './running.ts';
import type { AsteriskLayout } from './settings.ts';

/** Variables whose values are secrets, per file. GetConfig returns them in clear; they are wrapped at once. */
const SECRET_VARS: Readonly<Partial<Record<FileRole, ReadonlySet<string>>>> = {
  pjsip: new Set(['password', 'md5_cred']),
  confbridge: new Set(['pin']),
};
const VOICEMAIL_NON_CONTEXTS = new Set(['general', 'zonemessages']);

/** A live secret: printable only as "(sensitive)", compared through reveal(). */
const liveSecret = (value: string) => new Secret(value, 'env', 'asterisk-live');

/** Parses a GetConfig answer (Category-/IsTemplate-/Templates-/Line- headers, in order) into sections. */
export function parseGetConfig(m: AmiMessage, role: FileRole): ConfSection[] {
  const out: Array<{ name: string; templates: string[]; isTemplate: boolean; vars: ConfVar[] }> = [];
  let current: (typeof out)[number] | undefined;
  for (const [key, value] of m.headers) {
    // Asterisk spells these headers exactly so; other spellings take the slower case-insensitive path.
    const prefix = key.startsWith('Line-') ? 'line' : key.startsWith('Category-') ? 'category' : headerPrefix(key);
    if (prefix === 'category') {
      current = { name: value, templates: [], isTemplate: false, vars: [] };
      out.push(current);
    } else if (!current) {
      continue;
    } else if (prefix === 'istemplate') {
      current.isTemplate = value === '1';
    } else if (prefix === 'templates') {
      current.templates = value.includes(',') ? value.split(',').map((t) => t.trim()).filter(Boolean) : [value.trim()];
    } else if (prefix === 'line') {
      const eq = value.indexOf('=');
      const name = eq < 0 ? value : value.slice(0, eq);
      const text = eq < 0 ? '' : value.slice(eq + 1);
      current.vars.push({ name, value: secretAware(role, current.name, name, text) });
    }
  }
  return out;
}

function headerPrefix(key: string): string {
  const dash = key.indexOf('-');
  return dash < 0 ? '' : key.slice(0, dash).toLowerCase();
}

function secretAware(role: FileRole, category: string, name: string, value: string): ConfVar['value'] {
  const secretNames = SECRET_VARS[role];
  if (secretNames && (secretNames.has(name) || secretNames.has(name.toLowerCase()))) return liveSecret(value);
  if (role === 'voicemail' && !VOICEMAIL_NON_CONTEXTS.has(category.toLowerCase())) {
    // `<mailbox> => <pin>,<name>,<email>,<pager>,<options>`: the PIN is the first field.
    const comma = value.indexOf(',');
    return comma < 0 ? [liveSecret(value)] : [liveSecret(value.slice(0, comma)), value.slice(comma)];
  }
  return value;
}

const typeOf = (vars: readonly ConfVar[]) => {
  for (let i = vars.length - 1; i >= 0; i--) {
    const v = vars[i];
    if (v && v.name.toLowerCase() === 'type' && typeof v.value === 'string') return v.value.trim().toLowerCase();
  }
  return '';
};

interface Builder {
  kind: ObjectKind;
  key: string;
  label?: string;
  numbers: Set<string>;
  sections: SectionSpec[];
  lines: LineSpec[];
  /** Some of its lines are in this instance's dialplan context: its config lies in this instance's scope. */
  answered: boolean;
}

const sectionId = (role: FileRole, name: string) => `${role}/${name.toLowerCase()}`;

/**
 * Groups owned config under the identities the desired state uses: pjsip sections by extension number, confbridge
 * profiles by conference name, dialplan lines by number (a number whose lines enter ConfBridge belongs to that
 * conference), mailbox and messaging lines by number. Anything else owned is a stray. Files are added one at a time,
 * so observe can group each file as soon as it is read.
 *
 * Config an earlier version wrote (the template without an instance) is grouped too, then kept only inside this
 * instance's scope, which is its dialplan context: the [context] section itself, the sections and lines of the objects
 * answered there, the message and voicemail contexts holding only such lines (or, while [context] itself is still the
 * earlier version's, none). Everything else of it is left to whoever continues it (LiveAsterisk.owners).
 */
export function ownedGrouper(layout: AsteriskLayout): { add(file: LiveFile): void; result(): Pick<LiveAsterisk, 'objects' | 'containers' | 'strays' | 'owners' | 'legacy'> } {
  const objects = new Map<string, Builder>();
  const strays: { sections: SectionSpec[]; lines: LineSpec[] } = { sections: [], lines: [] };
  const get = (kind: ObjectKind, key: string) => {
    let b = objects.get(key);
    if (!b) objects.set(key, (b = { kind, key, numbers: new Set(key.startsWith('ext:') ? [key.slice(4)] : []), sections: [], lines: [], answered: false }));
    return b;
  };
  const containers = new Map<string, ContainerState>();
  const owners = new Map<string, string>();
  const containerNames: Record<FileRole, string[]> = {
    pjsip: [],
    confbridge: [],
    voicemail: [layout.voicemailContext],
    extensions: [layout.context, layout.messageContext],
  };
  return {
    add(file: LiveFile): void {
      const role = file.role;
      // Variables an admin put into an ownership template are inherited by every section of it; not ours to compare.
      const templateVars = (name: string) => file.sections.find((s) => s.isTemplate && s.name.toLowerCase() === name.toLowerCase())?.vars.length ?? 0;
      const inherited = { this: templateVars(layout.template), legacy: templateVars(LEGACY_OWNERSHIP_TEMPLATE) };
      const wanted = new Set(containerNames[role].map((n) => n.toLowerCase()));
      for (const name of containerNames[role]) {
        const same = file.sections.filter((s) => !s.isTemplate && s.name.toLowerCase() === name.toLowerCase()).map((s) => ownerOf(s.templates, layout));
        const other = same.find((o) => o.by === 'instance');
        if (other?.by === 'instance') owners.set(containerId(role, name), other.instance);
        containers.set(
          containerId(role, name),
          same.length === 0 ? 'missing' : same.some((o) => o.by === 'admin') ? 'unowned' : other ? 'foreign' : same.length > 1 ? 'duplicate' : same[0]!.by === 'legacy' ? 'legacy' : 'owned',
        );
      }
      for (const s of file.sections) {
        if (s.isTemplate) continue;
        const owner = ownerOf(s.templates, layout);
        if (owner.by === 'instance') owners.set(sectionId(role, s.name), owner.instance);
        if (owner.by !== 'this' && owner.by !== 'legacy') continue;
        const legacy = owner.by === 'legacy';
        const skip = legacy ? inherited.legacy : inherited.this;
        const vars = skip === 0 ? s.vars : s.vars.slice(skip);
        if (wanted.has(s.name.toLowerCase())) {
          const state = containers.get(containerId(role, s.name));
          if (state !== 'owned' && state !== 'legacy') continue;
          groupLines(role, s.name, vars, layout, get, strays);
          continue;
        }
        // An [includeFrom] an earlier version owned whole is not a stray: plan gives it back to the admin with one include line.
        if (role === 'extensions' && layout.includeFrom && s.name.toLowerCase() === layout.includeFrom.toLowerCase()) continue;
        const spec: SectionSpec = { role, name: s.name, type: typeOf(vars), vars, ...(legacy ? { legacy: true } : {}) };
        const key = sectionKey(spec);
        if (key) get(key.kind, key.key).sections.push(spec);
        else strays.sections.push(spec);
      }
    },
    result() {
      const legacy = new Set<string>();
      // [context] of an earlier version: this instance continues it, so what it holds is in scope.
      const continuing = containers.get(containerId('extensions', layout.context)) === 'legacy';
      const outOfScope = (role: FileRole, name: string) => owners.set(sectionId(role, name), '');
      const inContainer = (role: FileRole, name: string) => (l: LineSpec) => l.role === role && l.category.toLowerCase() === name.toLowerCase();
      for (const [role, name] of [['extensions', layout.messageContext], ['voicemail', layout.voicemailContext]] as const) {
        if (containers.get(containerId(role, name)) !== 'legacy') continue;
        const holders = [...objects.values()].filter((b) => b.lines.some(inContainer(role, name)));
        const mine = holders.length > 0 ? holders.every((b) => b.answered) && !strays.lines.some(inContainer(role, name)) : continuing;
        if (mine) {
          legacy.add(containerId(role, name));
          continue;
        }
        containers.set(containerId(role, name), 'foreign');
        outOfScope(role, name);
        for (const b of holders) b.lines = b.lines.filter((l) => !inContainer(role, name)(l));
        strays.lines = strays.lines.filter((l) => !inContainer(role, name)(l));
      }
      if (continuing) legacy.add(containerId('extensions', layout.context));
      for (const b of objects.values()) {
        if (b.answered) {
          for (const s of b.sections) if (s.legacy) legacy.add(sectionId(s.role, s.name));
          continue;
        }
        for (const s of b.sections) if (s.legacy) outOfScope(s.role, s.name);
        b.sections = b.sections.filter((s) => !s.legacy);
      }
      for (const s of strays.sections) if (s.legacy) (continuing ? legacy.add(sectionId(s.role, s.name)) : outOfScope(s.role, s.name));
      if (!continuing) strays.sections = strays.sections.filter((s) => !s.legacy);
      const kept = [...objects].filter(([, b]) => b.sections.length > 0 || b.lines.length > 0);
      return { objects: new Map(kept.map(([k, b]) => [k, freeze(b)])), containers, strays, owners, legacy };
    },
  };
}

export function groupOwned(files: Readonly<Record<FileRole, LiveFile>>, layout: AsteriskLayout): Pick<LiveAsterisk, 'objects' | 'containers' | 'strays' | 'owners' | 'legacy'> {
  const g = ownedGrouper(layout);
  for (const role of FILE_ROLES) g.add(files[role]);
  return g.result();
}

function freeze(b: Builder): AsteriskObject {
  return { kind: b.kind, key: b.key, ...(b.label ? { label: b.label } : {}), numbers: [...b.numbers], sections: b.sections, lines: b.lines };
}

function sectionKey(s: SectionSpec): { kind: ObjectKind; key: string } | undefined {
  if (s.role === 'pjsip') {
    if ((s.type === 'endpoint' || s.type === 'aor') && /^[0-9]+$/.test(s.name)) return { kind: 'Extension', key: extensionKey(s.name) };
    const m = /^([0-9]+)-auth$/.exec(s.name);
    if (s.type === 'auth' && m?.[1]) return { kind: 'Extension', key: extensionKey(m[1]) };
  }
  if (s.role === 'confbridge') {
    const m = new RegExp(`^(.+)-(${PROFILE_SUFFIXES.join('|')})$`).exec(s.name);
    if (m?.[1] && (s.type === 'bridge' || s.type === 'user')) return { kind: 'Conference', key: conferenceKey(m[1]) };
  }
  return undefined;
}

function groupLines(
  role: FileRole,
  category: string,
  vars: readonly ConfVar[],
  layout: AsteriskLayout,
  get: (kind: ObjectKind, key: string) => Builder,
  strays: { lines: LineSpec[] },
): void {
  if (role === 'voicemail') {
    for (const v of vars) {
      const line: LineSpec = { role, category, var: v.name, value: v.value };
      if (/^[0-9]+$/.test(v.name)) get('Extension', extensionKey(v.name)).lines.push(line);
      else strays.lines.push(line);
    }
    return;
  }
  const main = category.toLowerCase() === layout.context.toLowerCase();
  // First pass: which numbers of the main context enter a conference, and through which profiles.
  const byNumber = new Map<string, { lines: LineSpec[]; label?: string; conference?: string }>();
  for (const v of vars) {
    const line: LineSpec = { role, category, var: v.name, value: v.value };
    const parsed = v.name.toLowerCase() === 'exten' && typeof v.value === 'string' ? parseExten(v.value) : undefined;
    if (!parsed) {
      strays.lines.push(line);
      continue;
    }
    const number = parsed.exten.endsWith('*') ? parsed.exten.slice(0, -1) : parsed.exten;
    let g = byNumber.get(number);
    if (!g) byNumber.set(number, (g = { lines: [] }));
    g.lines.push(line);
    if (main && parsed.priority === '1' && parsed.label && !parsed.exten.endsWith('*')) g.label = parsed.label;
    const cb = main ? /^confbridge\(([^)]*)\)$/i.exec(parsed.app) : null;
    const bridge = cb?.[1]?.split(',')[1]?.trim();
    if (bridge?.endsWith('-bridge')) g.conference = bridge.slice(0, -'-bridge'.length);
  }
  for (const [number, g] of byNumber) {
    const b = g.conference ? get('Conference', conferenceKey(g.conference)) : get('Extension', extensionKey(number));
    b.lines.push(...g.lines);
    if (main) {
      b.numbers.add(number);
      b.answered = true;
    }
    if (g.label && !b.label) b.label = g.label;
  }
}

export interface ObserveDeps {
  readonly client: AmiClient;
  readonly layout: AsteriskLayout;
  readonly pendingReloads: () => ReadonlySet<string>;
  readonly now: () => Date;
}

/**
 * One GetConfig per file infrasec writes, plus the voicemail file app_voicemail loads; then what Asterisk runs for
 * the owned objects found there (running.ts). Everything of one phase is pipelined on one session.
 */
export async function observeAsterisk(deps: ObserveDeps, signal: AbortSignal): Promise<LiveAsterisk> {
  const { client, layout } = deps;
  await client.connect(signal);
  const grouper = ownedGrouper(layout);
  const reads = FILE_ROLES.map((role) =>
    client.action('GetConfig', [['Filename', layout.files[role]], ['Filter', 'TEMPLATES=include']], signal).then((m) => {
      const file = toLiveFile(role, layout.files[role], m, layout);
      grouper.add(file);
      return file;
    }),
  );
  const separateRoot = layout.voicemailConf !== layout.files.voicemail;
  // Read only to see what app_voicemail loads: a file that does not parse is reported, not fatal to the pass.
  const root = separateRoot
    ? client.action('GetConfig', [['Filename', layout.voicemailConf], ['Filter', 'TEMPLATES=include']], signal).then((m) => {
        if (m.isError && !/not found|permission denied/i.test(m.message)) return { file: { role: 'voicemail', file: layout.voicemailConf, exists: true, sections: [], hasTemplate: false } as LiveFile, error: m.message || 'error' };
        return { file: toLiveFile('voicemail', layout.voicemailConf, m, layout) };
      })
    : Promise.resolve(undefined);
  // ONE await for every pipelined read. Awaiting them one after another leaves the later ones' rejections unhandled
  // when an earlier one fails (an abort rejects them all at once), and an unhandled rejection kills the controller.
  const [answers, rootFile] = await Promise.all([Promise.all(reads), root]);
  const files = {} as Record<FileRole, LiveFile>;
  FILE_ROLES.forEach((role, i) => {
    files[role] = answers[i] as LiveFile;
  });
  const grouped = grouper.result();
  const running = await readRunning(client, layout, runningTargets(grouped.objects, layout), signal);
  return {
    files,
    ...grouped,
    link: includeLink(files.extensions, layout),
    voicemailRoot: { ...voicemailRoot(rootFile?.file ?? files.voicemail, files.voicemail, layout), ...(rootFile?.error ? { readError: rootFile.error } : {}) },
    running,
    pendingReloads: deps.pendingReloads(),
    observedAt: deps.now().toISOString(),
  };
}

/** The owned endpoints, ConfBridge profiles and dialled numbers whose running side is read. */
export function runningTargets(objects: ReadonlyMap<string, AsteriskObject>, layout: AsteriskLayout): RunningTargets {
  const endpoints: string[] = [];
  const pjsipOptions = new Set<string>();
  const profiles: Array<{ name: string; type: 'user' | 'bridge' }> = [];
  const numbers = new Set<string>();
  for (const o of objects.values()) {
    for (const s of o.sections) {
      if (s.role === 'pjsip' && s.type === 'endpoint') endpoints.push(s.name);
      if (s.role === 'pjsip') for (const v of s.vars) pjsipOptions.add(v.name.toLowerCase().replace(/_/g, ''));
      if (s.role === 'confbridge' && (s.type === 'user' || s.type === 'bridge')) profiles.push({ name: s.name, type: s.type });
    }
    for (const l of o.lines) {
      if (l.role !== 'extensions' || l.category.toLowerCase() !== layout.context.toLowerCase() || typeof l.value !== 'string') continue;
      const p = parseExten(l.value);
      if (p) numbers.add(p.exten);
    }
  }
  return { endpoints, pjsipOptions, profiles, numbers: [...numbers] };
}

/** [includeFrom] in the extensions file: its state and how many `include => <context>` lines each namesake has. */
export function includeLink(file: LiveFile, layout: AsteriskLayout): IncludeLink {
  if (!layout.includeFrom) return { state: 'off', categories: 0, includes: [] };
  const cats = file.sections.filter((s) => !s.isTemplate && s.name.toLowerCase() === layout.includeFrom.toLowerCase());
  const ours = (v: ConfVar) => v.name.toLowerCase() === 'include' && typeof v.value === 'string' && v.value.split(',')[0]!.trim().toLowerCase() === layout.context.toLowerCase();
  // Owned whole only by this instance or an earlier version (never since): another instance's is not given back from here.
  const ownedWhole = (s: ConfSection) => ['this', 'legacy'].includes(ownerOf(s.templates, layout).by);
  return {
    state: cats.length === 0 ? 'missing' : cats.some(ownedWhole) ? 'owned' : 'unowned',
    categories: cats.length,
    includes: cats.map((c) => c.vars.filter(ours).length),
  };
}

/**
 * What the voicemail file app_voicemail loads shows: infrasec's file through its ownership template (so it is
 * #included), and the mailboxes of voicemailContext defined outside infrasec's sections.
 */
export function voicemailRoot(root: LiveFile, own: LiveFile, layout: AsteriskLayout): VoicemailRoot {
  const foreign = new Set<string>();
  for (const s of root.sections) {
    if (s.isTemplate || ['this', 'legacy'].includes(ownerOf(s.templates, layout).by) || s.name.toLowerCase() !== layout.voicemailContext.toLowerCase()) continue;
    for (const v of s.vars) if (/^[0-9]+$/.test(v.name)) foreign.add(v.name);
  }
  const includesOwned = root === own ? true : own.hasTemplate ? root.hasTemplate : undefined;
  return { file: root.file, exists: root.exists, ...(includesOwned === undefined ? {} : { includesOwned }), foreignMailboxes: foreign };
}

function toLiveFile(role: FileRole, file: string, m: AmiMessage, layout: Pick<AsteriskLayout, 'template'>): LiveFile {
  if (m.isError) {
    const message = m.message;
    if (/permission denied/i.test(message)) throw new AuthenticationError(`the AMI user may not read ${file} (GetConfig: ${message}); it needs write=config`, { file });
    // Asterisk answers "Config file not found" for a file that does not exist yet: infrasec will create it.
    if (/not found/i.test(message)) return { role, file, exists: false, sections: [], hasTemplate: false };
    throw new InfrasecError('asterisk-read-failed', `GetConfig ${file} failed: ${message || 'error'}`, { file });
  }
  const sections = parseGetConfig(m, role);
  return { role, file, exists: true, sections, hasTemplate: sections.some((s) => s.isTemplate && s.name.toLowerCase() === layout.template.toLowerCase()) };
}
