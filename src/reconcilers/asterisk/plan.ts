// Pure: diff desired extensions and conferences against the owned Asterisk config into Changes (with their UpdateConfig ops). No I/O, no clock.
import type { Conference, Extension, ResolvedState } from '../../desired/model.ts';
import { REDACTED, Secret } from '../../desired/secret.ts';
import { adoptable } from '../../engine/adoption.ts';
import type { Change, ChangeAction, Conflict, FieldChange, Plan, Policy, WireFieldChange } from '../../engine/types.ts';
import {
  type AsteriskChangeKind,
  type AsteriskObject,
  type AsteriskPayload,
  type ConfigOp,
  type ConfSection,
  type ConfValue,
  type ConfVar,
  containerId,
  type ContainerRef,
  describeValue,
  FILE_ROLES,
  type FileRole,
  hasSecret,
  type LineSpec,
  type LiveAsterisk,
  MODULE_OF,
  type ObjectKind,
  type OpGroup,
  RANK,
  revealValue,
  type SectionSpec,
  TMP_PREFIX,
} from './model.ts';
import { planLink, unreachable, voicemailConflicts } from './links.ts';
import { differs, liveYaml } from './live-yaml.ts';
import { blockSources, lineSources, optionSources, pickSource, sectionSources, unionSources } from './provenance.ts';
import { describeOwner, LEGACY_OWNERSHIP_TEMPLATE, ownerOf, takeOverNote } from './ownership.ts';
import { planContainerTakeover, takeOverSummary } from './takeover.ts';
import { conferenceKey, extensionKey, numbersOf, renderConference, renderExtension, type Rendered } from './render.ts';
import { linkDiffs, type RunningDiff, runningDiffs, unreadableFields } from './running-compare.ts';
import type { AsteriskLayout } from './settings.ts';
import { runningChangeView, yamlView } from './yaml-view.ts';

const SYSTEM = 'asterisk';
const lower = (s: string) => s.toLowerCase();

export type AsteriskChange = Change<AsteriskPayload>;

/** How a change reads in a plan besides its fields: the pjsip-level detail, or plumbing folded out of the count. */
interface View {
  readonly wire?: readonly WireFieldChange[];
  readonly supporting?: boolean;
}

/** Objects are matched on their section names, which `Kind/name` determines (never on their place in a file). */
function change(
  kind: AsteriskChangeKind,
  name: string,
  action: ChangeAction,
  fields: FieldChange[],
  reason: string,
  { pruned, adopt, ...payload }: AsteriskPayload & { readonly pruned?: boolean; readonly adopt?: boolean },
  { wire, supporting }: View = {},
): AsteriskChange {
  return {
    system: SYSTEM, kind, name, key: `${kind}/${name}`, action, prune: pruned === true, adopt: adopt === true, fields,
    ...(wire ? { wire } : {}), ...(supporting ? { supporting: true } : {}), reason, rank: RANK[kind], payload,
  };
}

/** The payload of an asterisk change; a change without one was not planned by this reconciler. */
export function payloadOf(c: Change<AsteriskPayload>): AsteriskPayload {
  if (!c.payload || !Array.isArray(c.payload.groups)) throw new TypeError(`${c.kind}/${c.name} has no asterisk payload (was it planned by this reconciler?)`);
  return c.payload;
}

interface Wanted {
  readonly kind: 'Extension' | 'Conference';
  readonly name: string;
  readonly resource: Extension | Conference;
  readonly rendered: Rendered;
}

export function planAsterisk(desired: ResolvedState, live: LiveAsterisk, policy: Policy, layout: AsteriskLayout): Plan<AsteriskPayload> {
  const changes: AsteriskChange[] = [];
  const conflicts: Conflict[] = [];
  // Every conflict here leaves a desired object out of service (not written, or written where nothing reaches it).
  const conflict = (kind: string, name: string, message: string) => conflicts.push({ system: SYSTEM, kind, name, message, blocking: true });

  // 1. Render; refuse what cannot be written safely; one owner per dialplan number.
  const wanted: Wanted[] = [];
  const byName = <T extends { metadata: { name: string } }>(m: ReadonlyMap<string, T>) => [...m.values()].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  // A leaver (owner with enabled: false) is one event every system honours: the SIP endpoint goes, pruning or not.
  const leavers = new Map<string, string>();
  for (const e of byName(desired.resources.extensions)) {
    const owner = e.spec.owner === undefined ? undefined : desired.resources.users.get(e.spec.owner);
    if (owner && !owner.spec.enabled) {
      leavers.set(e.metadata.name, owner.metadata.name);
      continue;
    }
    wanted.push({ kind: 'Extension', name: e.metadata.name, resource: e, rendered: renderExtension(e, desired.secrets, layout) });
  }
  for (const c of byName(desired.resources.conferences)) wanted.push({ kind: 'Conference', name: c.metadata.name, resource: c, rendered: renderConference(c, desired.secrets, layout) });
  // Indexes of what is owned live, so planning stays linear in the number of objects.
  const byNumber = new Map<string, AsteriskObject[]>();
  const byLabel = new Map<string, AsteriskObject[]>();
  for (const o of live.objects.values()) {
    for (const n of o.numbers ?? numbersOf(o, layout)) push(byNumber, n, o);
    if (o.label) push(byLabel, o.label, o);
  }
  const numberOwner = new Map<string, Wanted>();
  /** `unowned`: namesakes in the file taken over by policy.adopt; `adopt`: where they are, for the reason text. */
  const accepted: Array<Wanted & { object: AsteriskObject; unowned: SectionSpec[]; adopt: string[] }> = [];
  // A refused object keeps whatever it owns live: it is neither rewritten nor pruned.
  const claimed = new Set<string>();
  const refuse = (w: Wanted, message: string) => {
    conflict(w.kind, w.name, message);
    claimed.add(w.kind === 'Extension' ? extensionKey((w.resource as Extension).spec.number) : conferenceKey(w.name));
    for (const o of byLabel.get(w.name) ?? []) if (o.kind === w.kind) claimed.add(o.key);
  };
  // Built on first use: only objects not yet in Asterisk need it.
  let runningCache: Map<string, string> | undefined;
  const running = () => (runningCache ??= runningNames(live));
  // Unowned categories of the files infrasec writes, by role then lower-cased name; pjsip names present in the file.
  const unownedByName = new Map<FileRole, Map<string, ConfSection[]>>();
  const inFile = new Set<string>();
  for (const role of FILE_ROLES) {
    const byName = new Map<string, ConfSection[]>();
    for (const ls of live.files[role].sections) {
      if (ls.isTemplate) continue;
      if (role === 'pjsip') inFile.add(lower(ls.name));
      if (ownerOf(ls.templates, layout).by !== 'this' && !live.legacy.has(`${role}/${lower(ls.name)}`)) push(byName, lower(ls.name), ls);
    }
    if (byName.size > 0) unownedByName.set(role, byName);
  }
  for (const w of wanted) {
    if (w.rendered.problems.length > 0 || !w.rendered.object) {
      refuse(w, `not written to Asterisk: ${w.rendered.problems.join('; ')}`);
      continue;
    }
    const taken = w.rendered.numbers.find((n) => numberOwner.has(n));
    if (taken !== undefined) {
      const owner = numberOwner.get(taken)!;
      refuse(w, `dialplan number ${taken} is already used by ${owner.kind}/${owner.name}`);
      continue;
    }
    // Unowned namesakes: Append/DelCat would hit them too, so they are a conflict unless adopted.
    const unowned: SectionSpec[] = [];
    const clashes: string[] = [];
    /** Another infrasec's: an instance's name, or '' for an earlier version's outside this instance's scope. */
    const holders = new Set<string>();
    for (const s of w.rendered.object.sections) {
      const byName = unownedByName.get(s.role);
      const found = byName?.get(lower(s.name));
      if (!found || unowned.some((u) => u.role === s.role && lower(u.name) === lower(s.name))) continue;
      const holder = live.owners.get(`${s.role}/${lower(s.name)}`);
      if (holder !== undefined) holders.add(holder);
      for (const ls of found) {
        clashes.push(`[${ls.name}] in ${layout.files[s.role]}`);
        unowned.push({ role: s.role, name: ls.name, type: typeOfVars(ls.vars), vars: ls.vars });
      }
    }
    // Another instance's sections are never changed from here, adopt or not.
    const otherInstance = [...holders].find((h) => h !== '');
    if (otherInstance !== undefined) {
      refuse(w, `${clashes.join(', ')} belong(s) to ${describeOwner(otherInstance)} and are never changed by instance "${layout.instance}": give ${w.kind}/${w.name} another ${w.kind === 'Extension' ? 'number' : 'name'}, or remove it from that instance's Git`);
      continue;
    }
    // An endpoint res_pjsip runs that no file infrasec reads defines (a GUI extension in pjsip.endpoint.conf): a
    // second definition of the id would make res_pjsip reject it. It cannot be adopted: infrasec does not write there.
    const foreign = foreignEndpoints(w.rendered.object, live, running, inFile);
    if (foreign.length > 0) {
      refuse(w, `${foreign.join(', ')} is already running but defined outside ${layout.files.pjsip} (by the GUI?, or deleted from it without a reload); a second definition would be rejected by Asterisk`);
      continue;
    }
    if (clashes.length > 0 && !adoptable(policy, w.kind, w.name)) {
      const whose = holders.has('') ? `were written by ${describeOwner('')}` : `are not managed by infrasec (no (${layout.template}) template)`;
      refuse(w, `${clashes.join(', ')} exist(s) and ${whose}; add ${w.kind}/${w.name} to policy.adopt to take them over`);
      continue;
    }
    for (const n of w.rendered.numbers) numberOwner.set(n, w);
    accepted.push({ kind: w.kind, name: w.name, resource: w.resource, rendered: w.rendered, object: w.rendered.object, unowned, adopt: clashes });
  }

  // A mailbox the GUI already defines in the same voicemail context: app_voicemail keeps the first definition, so
  // infrasec's line is not written (the rest of the extension is) and the pass fails until one of them goes.
  const heldMailboxes = new Set<string>();
  for (const w of accepted) {
    for (const l of w.object.lines) {
      if (l.role !== 'voicemail' || !live.voicemailRoot.foreignMailboxes.has(l.var)) continue;
      heldMailboxes.add(w.object.key);
      conflict(w.kind, w.name, `mailbox ${l.var}@${l.category} is already defined outside infrasec's sections of ${layout.voicemailConf} (by the GUI?); app_voicemail would keep only one of them. Remove it there, give this extension another number, or set voicemailContext to another context`);
    }
  }

  // 2. Shared containers: created when missing, adopted on request, otherwise off limits.
  const blocked = new Set<string>();
  const rebuilt = new Set<string>();
  /** Temporary sections of context takeovers (takeover.ts): not strays. */
  const takeoverTmps = new Set<string>();
  const neededContainers = new Map<string, ContainerRef>();
  for (const w of accepted) {
    for (const c of w.rendered.containers) if (!(c.role === 'voicemail' && heldMailboxes.has(w.object.key))) neededContainers.set(containerId(c.role, c.name), c);
  }
  for (const [id, c] of [...neededContainers].sort(([a], [b]) => a.localeCompare(b))) {
    const state = live.containers.get(id) ?? 'missing';
    if (state === 'owned') continue;
    if (state === 'legacy') {
      // Its lines stay as they are (the objects' own diffs follow it), so it is not `rebuilt`.
      const t = planContainerTakeover(c, live, layout);
      takeoverTmps.add(t.tmp);
      changes.push(change('Context', c.name, 'update', t.fields, t.reason, { groups: t.groups, expect: { containers: [c] } }));
      continue;
    }
    const holder = state === 'foreign' ? live.owners.get(id) : undefined;
    if (holder !== undefined && holder !== '') {
      conflict('Context', c.name, `[${c.name}] in ${layout.files[c.role]} belongs to ${describeOwner(holder)}; instance "${layout.instance}" never changes it. Set ${containerSetting(c, layout)} to a context of this instance's own`);
      blocked.add(id);
      continue;
    }
    if (state === 'missing') {
      changes.push(change('Context', c.name, 'create', [{ path: `${c.role}:[${c.name}]`, before: null, after: 'owned context' }], `context [${c.name}] does not exist in ${layout.files[c.role]}`, {
        groups: [{ role: c.role, ops: [{ op: 'NewCat', cat: c.name, inherit: layout.template }] }],
        expect: { containers: [c] },
      }));
      rebuilt.add(id);
      continue;
    }
    const what = state === 'duplicate' ? 'is defined more than once' : state === 'foreign' ? `was written by ${describeOwner('')}` : 'exists and is not managed by infrasec';
    if (adoptable(policy, 'Context', c.name)) {
      changes.push(change('Context', c.name, 'update', [{ path: `${c.role}:[${c.name}]`, before: 'unowned', after: 'owned context' }], `context [${c.name}] ${what}; adopted by policy (its lines are replaced)`, {
        groups: [{ role: c.role, ops: [{ op: 'DelCat', cat: c.name }, { op: 'NewCat', cat: c.name, inherit: layout.template }] }],
        expect: { containers: [c] },
        adopt: true,
      }));
      rebuilt.add(id);
    } else {
      conflict('Context', c.name, `[${c.name}] in ${layout.files[c.role]} ${what}${state === 'foreign' ? '' : ` (no (${layout.template}) template)`}; its lines are not managed. Add Context/${c.name} to policy.adopt to take it over, or set ${containerSetting(c, layout)} to a context of infrasec's own`);
      blocked.add(id);
    }
  }

  // 2b. The one include line that makes the PBX's internal context reach infrasec's.
  const inContext = (l: LineSpec) => l.role === 'extensions' && lower(l.category) === lower(layout.context);
  const keptLive = [...live.objects.values()].filter((o) => claimed.has(o.key) && !accepted.some((w) => w.object.key === o.key));
  const linkNeeded = !blocked.has(containerId('extensions', layout.context)) && (accepted.some((w) => w.object.lines.some(inContext)) || keptLive.some((o) => o.lines.some(inContext)));
  const link = planLink(live, layout, linkNeeded);
  if (link) {
    changes.push(change('Include', layout.includeFrom, link.action, [{ path: `extensions:[${layout.includeFrom}].include`, before: link.before, after: link.after }], link.reason, {
      groups: [{ role: 'extensions', ops: link.ops }],
      expect: { link: !link.prune },
      pruned: link.prune,
    }));
  }

  // 3. Each desired object against what it owns live (by identity, or by its label after a renumbering).
  for (const w of accepted) claimed.add(w.object.key);
  const runtimeDiffs = new Map<string, RunningDiff[]>();
  const addDiff = (d: RunningDiff) => {
    let list = runtimeDiffs.get(d.module);
    if (!list) runtimeDiffs.set(d.module, (list = []));
    list.push(d);
  };
  const unreadable = new Set<string>();
  // Mailboxes app_voicemail cannot load (its file does not include infrasec's) are the voicemail conflict's business,
  // not a reason to reload app_voicemail on every pass.
  const vmUnreachable = live.voicemailRoot.includesOwned === false && layout.voicemailConf !== layout.files.voicemail;
  /** Objects in sync in the file: what Asterisk runs is compared with it; the ones it reaches are checked for calls too. */
  const inSync: Array<{ w: (typeof accepted)[number]; object: AsteriskObject }> = [];
  // Running differences of one object are that object's drift: it plans as an update with nothing to write, and the
  // reload that applies the file (folded into the plan) does the work.
  const ownedDiffs = new Set<RunningDiff>();
  const checkRunning = (w: (typeof accepted)[number], sections: readonly SectionSpec[], lines: readonly LineSpec[]) => {
    const diffs = runningDiffs(sections, lines, live, layout, unreadable, w.kind).filter((d) => !(vmUnreachable && d.module === MODULE_OF.voicemail));
    for (const d of diffs) {
      addDiff(d);
      ownedDiffs.add(d);
    }
    if (diffs.length > 0) {
      const view = runningChangeView(w.resource, diffs);
      changes.push(change(w.kind, w.name, 'update', view.fields, view.reason, { groups: [], expect: {}, source: sourceOf(w.resource) }, { wire: view.wire }));
    }
    inSync.push({ w, object: { ...w.object, sections, lines } });
  };
  for (const w of accepted) {
    const d = w.object;
    // A renumbered object finds its old config by label; a number taken over from another object brings that one's remains.
    const stale: AsteriskObject[] = [];
    const consider = (o: AsteriskObject) => {
      if (!claimed.has(o.key) && !stale.includes(o)) stale.push(o);
    };
    for (const o of byLabel.get(w.name) ?? []) if (o.kind === w.kind) consider(o);
    for (const n of w.rendered.numbers) for (const o of byNumber.get(n.endsWith('*') ? n.slice(0, -1) : n) ?? []) consider(o);
    for (const o of stale) claimed.add(o.key);
    const own = live.objects.get(d.key);
    const liveSections = stale.length === 0 ? (own?.sections ?? []) : [...(own?.sections ?? []), ...stale.flatMap((o) => o.sections)];
    const allLines = stale.length === 0 ? (own?.lines ?? []) : [...(own?.lines ?? []), ...stale.flatMap((o) => o.lines)];
    const liveLines = rebuilt.size === 0 ? allLines : allLines.filter((l) => !rebuilt.has(containerId(l.role, l.category)));
    const desiredLines = blocked.size === 0 && !heldMailboxes.has(d.key) ? d.lines : d.lines.filter((l) => !blocked.has(containerId(l.role, l.category)) && !(l.role === 'voicemail' && heldMailboxes.has(d.key)));
    const adopt = w.adopt.length > 0;
    // The common case, a pass with nothing to do: one cheap equality check per object before any diffing.
    if (!adopt && stale.length === 0 && own && sameObject(d.sections, desiredLines, own.sections, liveLines)) {
      checkRunning(w, d.sections, desiredLines);
      continue;
    }
    const before = adopt ? [...liveSections, ...w.unowned] : liveSections;
    const read = liveYaml(w.kind, before, liveLines, layout);
    const diff = diffObject({ ...d, lines: desiredLines }, before, liveLines, layout, { kind: w.kind, changed: (path) => differs(read, w.resource, path) });
    if (diff.groups.length === 0) {
      // The file is as Git wants it; is it also what Asterisk runs?
      checkRunning(w, d.sections, desiredLines);
      continue;
    }
    const exists = liveSections.length > 0 || liveLines.length > 0 || adopt;
    const reasons = [...(adopt ? [`adopting ${w.adopt.join(', ')} by policy`] : []), ...diff.reasons];
    const action = exists ? 'update' : 'create';
    changes.push(change(w.kind, w.name, action, yamlView(w.resource, action, diff.fields, read), exists ? reasons.join('; ') : 'in Git, not in Asterisk', {
      groups: diff.groups,
      expect: { present: { sections: d.sections, lines: desiredLines }, absent: diff.absent },
      ...(adopt ? { adopt: true } : {}),
      source: sourceOf(w.resource),
    }, { wire: diff.fields }));
  }

  // 4. Owned objects that left Git, and owned content that belongs to nothing.
  for (const o of [...live.objects.values()].filter((x) => !claimed.has(x.key)).sort((a, b) => a.key.localeCompare(b.key))) {
    const lines = o.lines.filter((l) => !rebuilt.has(containerId(l.role, l.category)));
    const read = liveYaml(o.kind, o.sections, lines, layout);
    const diff = diffObject({ ...o, sections: [], lines: [] }, o.sections, lines, layout, { kind: o.kind, changed: (path) => differs(read, undefined, path) });
    if (diff.groups.length === 0) continue;
    const name = o.label ?? o.key.slice(o.key.indexOf(':') + 1);
    const leaver = o.kind === 'Extension' ? leavers.get(name) : undefined;
    const action = leaver !== undefined ? 'disable' : 'delete';
    const fields = yamlView(undefined, action, diff.fields, read);
    if (leaver !== undefined) {
      // `disable`, not `delete`: an explicit enabled: false names the person on purpose, so the deletion threshold (meant
      // for objects lost by accident) does not count it.
      changes.push(change(o.kind, name, 'disable', fields, `its owner User/${leaver} is disabled (a leaver): the SIP endpoint and its mailbox are removed`, { groups: diff.groups, expect: { absent: diff.absent } }, { wire: diff.fields }));
      continue;
    }
    changes.push(change(o.kind, name, 'delete', fields, 'removed from Git', { groups: diff.groups, expect: { absent: diff.absent }, pruned: true }, { wire: diff.fields }));
  }
  for (const role of FILE_ROLES) {
    const sections = live.strays.sections.filter((s) => s.role === role && !takeoverTmps.has(lower(s.name)));
    const lines = live.strays.lines.filter((l) => l.role === role && !rebuilt.has(containerId(l.role, l.category)));
    if (sections.length === 0 && lines.length === 0) continue;
    const diff = diffObject({ kind: 'Extension', key: `stray:${role}`, sections: [], lines: [] }, sections, lines, layout);
    // Leftovers of an interrupted rename are infrasec's own debris and always go; anything else waits for prune.
    const debris = lines.length === 0 && sections.every((s) => lower(s.name).startsWith(TMP_PREFIX));
    changes.push(change('Section', layout.files[role], 'delete', diff.fields, debris ? 'temporary section left by an interrupted apply' : 'owned section or line that no desired object accounts for', {
      groups: diff.groups,
      expect: { absent: diff.absent },
      ...(debris ? {} : { pruned: true }),
    }));
  }

  // Owned contexts no desired object needs any more (nor a refused one still holds lines in).
  const kept = new Set([...neededContainers.keys(), ...keptLive.flatMap((o) => o.lines.map((l) => containerId(l.role, l.category)))]);
  for (const [id, state] of [...live.containers].sort(([a], [b]) => a.localeCompare(b))) {
    if ((state !== 'owned' && state !== 'legacy') || kept.has(id)) continue;
    const role = id.slice(0, id.indexOf('/')) as FileRole;
    const name = live.files[role].sections.find((x) => !x.isTemplate && containerId(role, x.name) === id)?.name ?? id.slice(id.indexOf('/') + 1);
    changes.push(change('Context', name, 'delete', [{ path: `${role}:[${name}]`, before: 'owned context', after: null }], `no desired object has lines in [${name}] any more`, {
      groups: [{ role, ops: [{ op: 'DelCat', cat: name }] }],
      expect: { absent: { sections: [{ role, name }], lines: [] } },
      pruned: true,
    }));
  }

  // Calls and mailboxes the PBX does not reach although the files are right.
  const mailboxes = accepted.reduce((n, w) => n + (heldMailboxes.has(w.object.key) ? 0 : w.object.lines.filter((l) => l.role === 'voicemail').length), 0);
  for (const c of voicemailConflicts(live, layout, mailboxes)) conflicts.push(c);
  // Where calls land is meaningful only once the dialplan that was read is the one Git wants (nothing to write or reload).
  const dialplanSettled = !changes.some((c) => payloadOf(c).groups.some((g) => g.role === 'extensions')) && !runtimeDiffs.has(MODULE_OF.extensions) && linkDiffs(live, layout).length === 0 && !live.pendingReloads.has(MODULE_OF.extensions);
  if (dialplanSettled) {
    for (const { w, object } of inSync) for (const why of unreachable(object, live, layout)) conflict(w.kind, w.name, why);
  }

  // 5. Files and their ownership template, needed wherever a plan creates owned categories.
  for (const role of FILE_ROLES) {
    const creates = changes.some((c) => payloadOf(c).groups.some((g) => g.role === role && g.ops.some((op) => op.op === 'NewCat')));
    const f = live.files[role];
    if (!creates || f.hasTemplate) continue;
    changes.push(change('ConfigFile', f.file, f.exists ? 'update' : 'create', [{ path: `${role}:[${layout.template}](!)`, before: null, after: 'ownership template' }],
      f.exists ? `${f.file} has no [${layout.template}](!) template yet` : `${f.file} does not exist; it must be #included from the ${role} configuration to take effect`, {
        groups: [{ role, ops: [{ op: 'NewCat', cat: layout.template, template: true }] }],
        ...(f.exists ? {} : { createFile: role }),
        expect: { template: role },
      }));
  }

  // 6. Reloads: after writes to a module's file, when its running side differs, or when a reload was never confirmed.
  const willRun = (c: AsteriskChange) => !(c.prune && !policy.prune);
  if (!link) for (const d of linkDiffs(live, layout)) addDiff(d);
  for (const role of FILE_ROLES) {
    const module = MODULE_OF[role];
    const triggers = changes.filter((c) => willRun(c) && payloadOf(c).groups.some((g) => g.role === role)).map((c) => `${c.kind}/${c.name}`);
    const diffs = runtimeDiffs.get(module) ?? [];
    const reasons = diffs.map((d) => d.reason);
    if (live.pendingReloads.has(module)) reasons.push('an earlier apply wrote the file but its reload was not confirmed');
    if (triggers.length === 0 && reasons.length === 0) continue;
    const why = reasons.length > 0 ? `what Asterisk runs differs from ${layout.files[role]}: ${reasons.length > 6 ? `${reasons.slice(0, 6).join('; ')} and ${reasons.length - 6} more` : reasons.join('; ')}` : `${triggers.length} change(s) write ${layout.files[role]}`;
    const fields: FieldChange[] = diffs.length > 0
      ? diffs.map((d) => ({ path: `running ${d.path}`, before: d.before, after: d.after, ...(d.sensitive ? { sensitive: true } : {}) }))
      : [{ path: 'running', before: reasons.length > 0 ? 'differs from the file' : 'previous file', after: 'reloaded' }];
    // Plumbing when every reason for it is another change of the plan: file writes, or an object's running difference.
    const supporting = !live.pendingReloads.has(module) && diffs.every((d) => ownedDiffs.has(d));
    changes.push(change('Reload', module, 'update', fields, why, {
      groups: [],
      reload: { module, triggers, always: reasons.length > 0 },
      expect: { runtime: module },
    }, { supporting }));
  }

  markBookkeeping(changes);
  const ownedCount = live.objects.size + [...live.containers.values()].filter((x) => x === 'owned').length + (live.link.includes.some((k) => k > 0) ? 1 : 0);
  for (const u of unreadableFields(accepted.map((w) => w.object), live)) unreadable.add(u);
  const note = takeOverSummary(live, layout);
  if (note) conflicts.push(note);
  return { system: SYSTEM, changes, conflicts, ownedCount, ...(unreadable.size > 0 ? { unreadable: [...unreadable] } : {}) };
}

/**
 * Config files' ownership templates and infrasec's own contexts serve every object and none in particular: plumbing,
 * folded out of the count. Adopting an admin's context is not (it replaces the admin's lines), nor is the include line
 * written into the admin's context, which a reviewer should see.
 */
function markBookkeeping(changes: AsteriskChange[]): void {
  for (const [i, c] of changes.entries()) {
    if (c.kind === 'ConfigFile' || (c.kind === 'Context' && !c.adopt)) changes[i] = { ...c, supporting: true };
  }
}

const sourceOf = (r: Extension | Conference) => ({ file: r.source.file, line: r.source.line, col: r.source.col });

/** The setting naming a shared context. */
function containerSetting(c: ContainerRef, layout: AsteriskLayout): string {
  return c.role === 'voicemail' ? 'voicemailContext' : lower(c.name) === lower(layout.messageContext) ? 'messageContext' : 'context';
}

/** What res_pjsip runs, by lower-cased section name: endpoint names, and the aors and auths they use. */
function runningNames(live: LiveAsterisk): Map<string, string> {
  const out = new Map<string, string>();
  for (const ep of live.running.endpoints?.values() ?? []) {
    for (const ref of [ep.aor, ...ep.auths.split(',')].map((x) => x.trim()).filter(Boolean)) out.set(lower(ref), `[${ref}] (used by endpoint ${ep.name})`);
    out.set(lower(ep.name), `endpoint ${ep.name}`);
  }
  return out;
}

/** Running pjsip objects with this object's names that infrasec neither owns nor sees in its file. */
function foreignEndpoints(o: AsteriskObject, live: LiveAsterisk, runningNamesOf: () => ReadonlyMap<string, string>, inFile: ReadonlySet<string>): string[] {
  if (!live.running.endpoints?.size || live.objects.has(o.key)) return [];
  const running = runningNamesOf();
  const out = new Set<string>();
  for (const s of o.sections) {
    const name = lower(s.name);
    const what = s.role === 'pjsip' && !inFile.has(name) ? running.get(name) : undefined;
    if (what) out.add(what);
  }
  return [...out];
}

/** Cheap exact equality of an object's sections and lines, in any order (anything else goes through the full diff). */
function sameObject(dSections: readonly SectionSpec[], dLines: readonly LineSpec[], lSections: readonly SectionSpec[], lLines: readonly LineSpec[]): boolean {
  // Lines are matched with a 31-bit mask; bigger objects go through the full diff.
  if (dSections.length !== lSections.length || dLines.length !== lLines.length || lLines.length > 31) return false;
  for (const d of dSections) {
    const l = lSections.find((x) => x.type === d.type && sameName(x.name, d.name));
    if (!l || l.legacy || !varsEqual(d.vars, l.vars)) return false;
  }
  let used = 0;
  for (const d of dLines) {
    const text = revealValue(d.value);
    let found = -1;
    for (let k = 0; k < lLines.length && found < 0; k++) {
      const l = lLines[k]!;
      if ((used & (1 << k)) === 0 && l.role === d.role && sameName(l.var, d.var) && sameName(l.category, d.category) && revealValue(l.value) === text) found = k;
    }
    if (found < 0) return false;
    used |= 1 << found;
  }
  return true;
}

const sameName = (a: string, b: string) => a === b || lower(a) === lower(b);

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

function typeOfVars(vars: readonly ConfVar[]): string {
  const t = [...vars].reverse().find((v) => lower(v.name) === 'type');
  return t && typeof t.value === 'string' ? lower(t.value.trim()) : '';
}

interface Diff {
  readonly groups: OpGroup[];
  /** In Asterisk's terms; each names the YAML field it comes from when diffObject was given an attribution. */
  readonly fields: WireFieldChange[];
  readonly reasons: string[];
  readonly absent: { sections: Array<{ role: FileRole; name: string }>; lines: LineSpec[] };
}

function varsEqual(a: readonly ConfVar[], b: readonly ConfVar[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const v = a[i]!;
    const w = b[i]!;
    if (!sameName(v.name, w.name) || (v.value !== w.value && revealValue(v.value) !== revealValue(w.value))) return false;
  }
  return true;
}

/** Same sections under one name: one per type, each with exactly the same variables in the same order. */
function sameSections(desired: readonly SectionSpec[], live: readonly SectionSpec[]): boolean {
  if (desired.length !== live.length) return false;
  return desired.every((d) => {
    const matches = live.filter((l) => l.type === d.type);
    return matches.length === 1 && matches[0] !== undefined && varsEqual(d.vars, matches[0].vars);
  });
}

function countBy<T>(items: readonly T[], key: (t: T) => string): Map<string, number> {
  const out = new Map<string, number>();
  for (const it of items) out.set(key(it), (out.get(key(it)) ?? 0) + 1);
  return out;
}

const lineKey = (l: LineSpec) => `${lower(l.category)}\u0000${lower(l.var)}\u0000${revealValue(l.value)}`;
const varKey = (l: LineSpec) => `${lower(l.category)}\u0000${lower(l.var)}`;

/**
 * The ops that turn `live` into `desired`. A section that differs in any way is rebuilt (DelCat, then NewCat and
 * Appends): endpoint and aor share a name, and UpdateConfig's Append/Update/Delete select every namesake, so a
 * rebuild of the pair is the one edit that is exact. The second namesake is built under a temporary name and renamed.
 * Lines in shared contexts are deleted by exact value and appended; a line holding a secret is replaced by variable.
 */
export function diffObject(desired: AsteriskObject, liveSections: readonly SectionSpec[], liveLines: readonly LineSpec[], layout: AsteriskLayout, attribution?: Attribution): Diff {
  const groups: OpGroup[] = [];
  const fields: WireFieldChange[] = [];
  const reasons: string[] = [];
  const absent: Diff['absent'] = { sections: [], lines: [] };
  for (const role of FILE_ROLES) {
    const dBy = groupBy(desired.sections.filter((s) => s.role === role), (s) => lower(s.name));
    const lBy = groupBy(liveSections.filter((s) => s.role === role), (s) => lower(s.name));
    for (const key of new Set([...dBy.keys(), ...lBy.keys()])) {
      const ds = dBy.get(key) ?? [];
      const ls = lBy.get(key) ?? [];
      const same = sameSections(ds, ls);
      // An earlier version's section (no instance) is rebuilt under this instance's template even when nothing else differs.
      const legacy = ds.length > 0 && ls.some((s) => s.legacy);
      if (same && !legacy) continue;
      const name = ds[0]?.name ?? ls[0]?.name ?? key;
      const ops: ConfigOp[] = [];
      if (ls.length > 0) ops.push({ op: 'DelCat', cat: name });
      ds.forEach((s, i) => ops.push(...buildSection(s, i === 0 ? undefined : `${TMP_PREFIX}${s.name}-${s.type}`, layout.template)));
      groups.push({ role, ops });
      if (legacy) fields.push({ path: `${role}:[${name}]`, before: `(${LEGACY_OWNERSHIP_TEMPLATE})`, after: `(${layout.template})` });
      fields.push(...sectionFields(role, name, ds, ls, attribution));
      if (same) reasons.push(`[${name}] in ${layout.files[role]} was ${takeOverNote(layout)}`);
      else if (ds.length === 0) {
        absent.sections.push({ role, name });
        reasons.push(`[${name}] is no longer wanted in ${layout.files[role]}`);
      } else if (ls.length === 0) reasons.push(`[${name}] is missing from ${layout.files[role]}`);
      else reasons.push(`[${name}] in ${layout.files[role]} differs from Git`);
    }

    const dl = desired.lines.filter((l) => l.role === role);
    const ll = liveLines.filter((l) => l.role === role);
    const dCount = countBy(dl, lineKey);
    const lCount = countBy(ll, lineKey);
    // A duplicated line counts as a difference too: Delete by Match removes every copy, Append puts one back.
    const changed = new Set([...dCount.keys(), ...lCount.keys()].filter((k) => dCount.get(k) !== lCount.get(k)));
    if (changed.size === 0) continue;
    const ops: ConfigOp[] = [];
    // Delete by Match would have to send the old secret as Match: a secret-bearing variable is replaced whole instead.
    const replacedVars = new Set([...dl, ...ll].filter((l) => changed.has(lineKey(l)) && hasSecret(l.value)).map(varKey));
    const deleted = new Set<string>();
    for (const l of ll) {
      const k = replacedVars.has(varKey(l)) ? `var\u0000${varKey(l)}` : lineKey(l);
      if (deleted.has(k) || (!replacedVars.has(varKey(l)) && !changed.has(k))) continue;
      deleted.add(k);
      ops.push(replacedVars.has(varKey(l)) ? { op: 'Delete', cat: l.category, var: l.var } : { op: 'Delete', cat: l.category, var: l.var, match: revealValue(l.value) });
    }
    for (const l of dl) {
      if (replacedVars.has(varKey(l)) || (changed.has(lineKey(l)) && (lCount.get(lineKey(l)) ?? 0) > 0) || !lCount.has(lineKey(l))) {
        ops.push({ op: 'Append', cat: l.category, var: l.var, value: l.value, object: true });
      }
    }
    groups.push({ role, ops });
    const gone = ll.filter((l) => !dCount.has(lineKey(l)));
    const added = dl.filter((l) => !lCount.has(lineKey(l)));
    absent.lines.push(...gone.filter((l) => !replacedVars.has(varKey(l))));
    fields.push(...lineFields(role, gone, added, layout, attribution));
    reasons.push(`lines in ${layout.files[role]} differ from Git`);
  }
  return { groups, fields, reasons, absent };
}

function buildSection(s: SectionSpec, tmp: string | undefined, template: string): ConfigOp[] {
  const cat = tmp ?? s.name;
  const ops: ConfigOp[] = [{ op: 'NewCat', cat, inherit: template }];
  for (const v of s.vars) ops.push({ op: 'Append', cat, var: v.name, value: v.value });
  if (tmp) ops.push({ op: 'RenameCat', cat: tmp, to: s.name });
  return ops;
}

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    const list = out.get(k);
    if (list) list.push(it);
    else out.set(k, [it]);
  }
  return out;
}

/** Which object a diff is for, so each field it lists can name the YAML field it comes from (see provenance.ts). */
interface Attribution {
  readonly kind: ObjectKind;
  /** The YAML field holds another value live than in Git, or one that cannot be read back. */
  readonly changed: (path: string) => boolean;
}

const withSource = (field: FieldChange, from: string | undefined): WireFieldChange => (from === undefined ? field : { ...field, from });

/** Field-level differences of the sections under one name, per type and variable. Secrets only as "(sensitive)". */
function sectionFields(role: FileRole, name: string, desired: readonly SectionSpec[], live: readonly SectionSpec[], attribution?: Attribution): WireFieldChange[] {
  const out: WireFieldChange[] = [];
  const types = [...new Set([...desired.map((s) => s.type), ...live.map((s) => s.type)])];
  for (const type of types) {
    const d = desired.find((s) => s.type === type)?.vars ?? [];
    const l = live.filter((s) => s.type === type).flatMap((s) => s.vars);
    // A section on one side only is there for the field that makes it exist (an extension's number, a leader PIN).
    const wholeSection = desired.some((s) => s.type === type) !== live.some((s) => s.type === type);
    const names = [...new Set([...d.map((v) => lower(v.name)), ...l.map((v) => lower(v.name))])];
    for (const n of names) {
      const dv = d.filter((v) => lower(v.name) === n).map((v) => v.value);
      const lv = l.filter((v) => lower(v.name) === n).map((v) => v.value);
      if (dv.length === lv.length && dv.every((x, i) => lv[i] !== undefined && revealValue(x) === revealValue(lv[i]!))) continue;
      const path = `${role}:${type || '?'}[${name}].${n}`;
      const from = attribution && pickSource(
        unionSources([optionSources(attribution.kind, type, name, n), wholeSection ? sectionSources(attribution.kind, name) : []]),
        attribution.changed,
        dv.length > 0 && lv.length > 0,
      );
      if ([...dv, ...lv].some(hasSecret)) out.push(withSource({ path, before: lv.length ? REDACTED : null, after: dv.length ? REDACTED : null, sensitive: true }, from));
      else out.push(withSource({ path, before: show(lv), after: show(dv) }, from));
    }
  }
  return out;
}

function lineFields(role: FileRole, gone: readonly LineSpec[], added: readonly LineSpec[], layout: AsteriskLayout, attribution?: Attribution): WireFieldChange[] {
  const out: WireFieldChange[] = [];
  for (const cat of new Set([...gone, ...added].map((l) => l.category))) {
    const g = gone.filter((l) => l.category === cat);
    const a = added.filter((l) => l.category === cat);
    const before = g.map((l) => `${l.var} => ${describeValue(l.value)}`);
    const after = a.map((l) => `${l.var} => ${describeValue(l.value)}`);
    const sameText = before.length === after.length && before.every((b, i) => b === after[i]);
    const bothSides = g.length > 0 && a.length > 0;
    const from = attribution && pickSource(blockSources([...g, ...a].map((l) => lineSources(attribution.kind, l, layout)), bothSides), attribution.changed, bothSides);
    if (!sameText) out.push(withSource({ path: `${role}:[${cat}]`, before: before.length ? before : null, after: after.length ? after : null }, from));
    for (const v of new Set([...g, ...a].filter((l) => hasSecret(l.value)).map((l) => l.var))) {
      const secretsOf = (ls: readonly LineSpec[]) => ls.filter((l) => l.var === v).map((l) => secretText(l.value)).join('\u0000');
      const secretFrom = attribution && role === 'voicemail' ? 'spec.voicemail.pin' : undefined;
      if (secretsOf(g) !== secretsOf(a)) out.push(withSource({ path: `${role}:[${cat}].${v}.secret`, before: g.some((l) => l.var === v) ? REDACTED : null, after: a.some((l) => l.var === v) ? REDACTED : null, sensitive: true }, secretFrom));
    }
  }
  return out;
}

/** Only the secret parts of a value, for telling a PIN change from a name change. */
function secretText(v: ConfValue): string {
  if (typeof v === 'string') return '';
  if (v instanceof Secret) return v.reveal();
  return v.filter((p): p is Secret => typeof p !== 'string').map((p) => p.reveal()).join('\u0000');
}

function show(values: readonly ConfValue[]): unknown {
  const text = values.map(describeValue);
  return text.length === 0 ? null : text.length === 1 ? text[0] : text;
}
