// Pure: which secrets go to whom (a person's own and their extensions', a conference's PINs), and the document that hands them over.
import type { DesiredState, ResolvedState } from '../desired/model.ts';
import type { Secret } from '../desired/secret.ts';
import { isGenerated, secretFieldsOf, type SecretField } from '../desired/secret-fields.ts';

export interface Selection {
  readonly people: readonly string[];
  readonly conferences: readonly string[];
}

export interface HandOverItem {
  /** `Kind/name` of the object the secret belongs to. */
  readonly object: string;
  /** Field path in the YAML, e.g. `spec.voicemail.pin`. */
  readonly path: string;
  readonly label: string;
  readonly origin: 'generated' | 'encrypted';
  readonly secret: Secret;
}

export interface HandOverSection {
  /** `User/name` or `Conference/name`: whom the section is for. */
  readonly recipient: string;
  readonly title: string;
  readonly items: readonly HandOverItem[];
}

export interface HandOver {
  readonly revision: string;
  readonly sections: readonly HandOverSection[];
}

/** A selection naming something the desired state does not hold, or holding no secret at all. */
export class SelectionError extends Error {}

function labelOf(f: SecretField, state: DesiredState): string {
  const r = f.resource;
  switch (`${r.kind}.${f.field}`) {
    case 'User.password':
      return state.users.get(r.metadata.name)?.spec.mustChangePassword ? 'initial password (to be changed at first logon)' : 'password';
    case 'Extension.secret':
      return `SIP secret, extension ${(r.spec as { number: string }).number}`;
    case 'Extension.voicemail.pin':
      return `voicemail PIN, extension ${(r.spec as { number: string }).number}`;
    case 'Conference.userPin':
      return 'participant PIN';
    case 'Conference.leaderPin':
      return 'leader PIN';
    default:
      return f.path.join('.');
  }
}

/** What a person is handed: their own secret fields, then those of the extensions they own. */
function belongsTo(f: SecretField, person: string): boolean {
  const r = f.resource;
  if (r.kind === 'User') return r.metadata.name === person;
  if (r.kind === 'Extension') return r.spec.owner === person;
  return false;
}

/** Pure: the hand-over of the selected people and conferences, in the order asked. Unknown names are refused, not skipped. */
export function buildHandOver(state: ResolvedState, selection: Selection): HandOver {
  const fields = secretFieldsOf(state.resources);
  const item = (f: SecretField): HandOverItem => {
    const secret = state.secrets.get(f.resource.kind, f.resource.metadata.name, f.field);
    // resolveSecrets resolves every field or fails the load: a hole here is a bug, not a case to print around.
    if (!secret) throw new Error(`${f.id} was not resolved`);
    return { object: `${f.resource.kind}/${f.resource.metadata.name}`, path: f.path.join('.'), label: labelOf(f, state.resources), origin: isGenerated(f.source) ? 'generated' : 'encrypted', secret };
  };
  const problems: string[] = [];
  const sections: HandOverSection[] = [];
  for (const person of unique(selection.people)) {
    const user = state.resources.users.get(person);
    if (!user) {
      problems.push(`no User/${person} in the desired state`);
      continue;
    }
    const items = fields.filter((f) => belongsTo(f, person)).map(item);
    if (items.length === 0) problems.push(`User/${person} has no secret to hand over (no password, no extension with a secret)`);
    else sections.push({ recipient: `User/${person}`, title: `${person} (${user.spec.displayName ?? `${user.spec.givenName} ${user.spec.surname}`})`, items });
  }
  for (const name of unique(selection.conferences)) {
    const conf = state.resources.conferences.get(name);
    if (!conf) {
      problems.push(`no Conference/${name} in the desired state`);
      continue;
    }
    const items = fields.filter((f) => f.resource.kind === 'Conference' && f.resource.metadata.name === name).map(item);
    if (items.length === 0) problems.push(`Conference/${name} has no PIN`);
    else sections.push({ recipient: `Conference/${name}`, title: `conference ${name} (${conf.spec.number}, "${conf.spec.title}")`, items });
  }
  if (problems.length > 0) throw new SelectionError(problems.join('; '));
  if (sections.length === 0) throw new SelectionError('nothing selected: name people with --person, conferences with --conference, or use --all');
  return { revision: state.revision, sections };
}

/** Pure: every person and conference holding a secret (`--all`). */
export function selectAll(state: DesiredState): Selection {
  const fields = secretFieldsOf(state);
  const people = [...state.users.keys()].filter((p) => fields.some((f) => belongsTo(f, p)));
  const conferences = [...state.conferences.keys()].filter((c) => fields.some((f) => f.resource.kind === 'Conference' && f.resource.metadata.name === c));
  return { people, conferences };
}

function unique(names: readonly string[]): string[] {
  return [...new Set(names)];
}

/** Pure: the document in clear, for a terminal or for the encrypted file. The only place values are revealed. */
export function renderHandOver(h: HandOver, format: 'text' | 'json'): string {
  if (format === 'json') {
    return JSON.stringify({
      revision: h.revision,
      sections: h.sections.map((s) => ({ recipient: s.recipient, title: s.title, secrets: s.items.map((i) => ({ object: i.object, path: i.path, label: i.label, origin: i.origin, value: i.secret.reveal() })) })),
    }, null, 2);
  }
  const out = [`Secrets handed over by infrasec (desired state ${h.revision}). Keep them private; delete this once they are in use.`];
  for (const s of h.sections) {
    out.push('', s.title);
    const width = Math.max(...s.items.map((i) => i.label.length));
    for (const i of s.items) out.push(`  ${i.label.padEnd(width)}  ${i.secret.reveal()}    (${i.object} ${i.path})`);
  }
  return `${out.join('\n')}\n`;
}

/** Pure: what the audit trail records of a hand-over: per object, which fields, never a value. */
export function handedOverFields(h: HandOver): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const s of h.sections) for (const i of s.items) out.set(i.object, [...(out.get(i.object) ?? []), i.path]);
  return out;
}
