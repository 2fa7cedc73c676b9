// Pure: how infrasec's config is reached by the PBX's own: the one `include =>` line in the admin's context, the
// #include of infrasec's voicemail file, and where the endpoints' calls to infrasec's numbers actually land.
import type { Conflict } from '../../engine/types.ts';
import type { AsteriskObject, ConfigOp, LiveAsterisk } from './model.ts';
import { parseExten } from './render.ts';
import type { AsteriskLayout } from './settings.ts';

const lower = (s: string) => s.toLowerCase();

export interface LinkPlan {
  readonly action: 'create' | 'update' | 'delete';
  readonly ops: readonly ConfigOp[];
  readonly before: unknown;
  readonly after: unknown;
  readonly reason: string;
  /** Removing the line because infrasec's dialplan left Git: held unless pruning. */
  readonly prune: boolean;
}

/**
 * The ops that leave exactly one `include => <context>` in each [includeFrom] when infrasec's context is needed, and
 * none when it is not. The admin's other lines are never touched: Delete matches infrasec's line by its value.
 */
export function planLink(live: LiveAsterisk, layout: AsteriskLayout, needed: boolean): LinkPlan | undefined {
  const link = live.link;
  if (link.state === 'off') return undefined;
  const from = layout.includeFrom;
  const line = `include => ${layout.context}`;
  const append: ConfigOp = { op: 'Append', cat: from, var: 'include', value: layout.context, object: true };
  const present = link.includes.reduce((n, k) => n + k, 0);
  if (!needed) {
    if (present === 0 || link.state === 'owned') return undefined;
    return {
      action: 'delete', ops: [{ op: 'Delete', cat: from, var: 'include', match: layout.context }], before: line, after: null, prune: true,
      reason: `no extension or conference is left in [${layout.context}]: its include line goes from [${from}]; the admin's lines stay`,
    };
  }
  if (link.state === 'missing') {
    return {
      action: 'create', ops: [{ op: 'NewCat', cat: from }, append], before: null, after: line, prune: false,
      reason: `[${from}] does not exist in ${layout.files.extensions}: created with one line, so ${layout.endpointContext} reaches [${layout.context}]`,
    };
  }
  if (link.state === 'owned') {
    return {
      action: 'update', ops: [{ op: 'DelCat', cat: from }, { op: 'NewCat', cat: from }, append], before: 'owned by infrasec', after: line, prune: false,
      reason: `[${from}] was owned whole by an earlier infrasec: it is given back to the admin holding only the include line (infrasec's dialplan now lives in [${layout.context}])`,
    };
  }
  if (link.includes.every((k) => k === 1)) return undefined;
  const ops: ConfigOp[] = present > 0 ? [{ op: 'Delete', cat: from, var: 'include', match: layout.context }, append] : [append];
  return {
    action: 'update', ops, before: present > 0 ? `${present} include line(s) for ${link.categories} [${from}] section(s)` : null, after: line, prune: false,
    reason: present > 0 ? `[${from}] does not hold exactly one include => ${layout.context}` : `adds one line to the admin's [${from}] so ${layout.endpointContext} reaches [${layout.context}]; its other lines are left as they are`,
  };
}

/** Where the mailboxes infrasec writes are not loaded by app_voicemail, or would be a second definition. */
export function voicemailConflicts(live: LiveAsterisk, layout: AsteriskLayout, mailboxes: number): Conflict[] {
  const root = live.voicemailRoot;
  if (mailboxes === 0 || layout.voicemailConf === layout.files.voicemail) return [];
  if (!root.exists) {
    return [{
      system: 'asterisk', kind: 'ConfigFile', name: layout.voicemailConf, blocking: true,
      message: `${layout.voicemailConf} (voicemailConf) does not exist, so app_voicemail loads none of the ${mailboxes} mailbox(es) infrasec writes: set voicemailConf to the file app_voicemail loads`,
    }];
  }
  if (root.readError !== undefined) {
    return [{
      system: 'asterisk', kind: 'ConfigFile', name: layout.voicemailConf, blocking: true,
      message: `GetConfig ${layout.voicemailConf} failed (${root.readError}), so app_voicemail cannot load it either: an "#include" of a file that does not exist yet is the usual cause; include ${layout.files.voicemail} with "#tryinclude" instead`,
    }];
  }
  if (root.includesOwned !== false) return [];
  return [{
    system: 'asterisk', kind: 'ConfigFile', name: layout.files.voicemail, blocking: true,
    message: `${layout.voicemailConf} does not #include ${layout.files.voicemail}, so app_voicemail loads none of the ${mailboxes} mailbox(es) infrasec writes there. ` +
      `This PBX leaves no place of its own for them: add the line "#tryinclude ${layout.files.voicemail}" at the end of ${layout.voicemailConf} once ` +
      `(the Issabel GUI keeps that line when it rewrites the file, and never reads or rewrites the file it names), or set files.voicemail to a file ${layout.voicemailConf} already #includes; ` +
      `infrasec does not write ${layout.voicemailConf} itself, since UpdateConfig would rewrite it and every file it #includes`,
  }];
}

/** The numbers an object answers on in `context`, as dialled (`25*` for a leader). */
export function dialledNumbers(o: AsteriskObject, layout: AsteriskLayout): string[] {
  const out = new Set<string>();
  for (const l of o.lines) {
    if (l.role !== 'extensions' || lower(l.category) !== lower(layout.context) || typeof l.value !== 'string') continue;
    const p = parseExten(l.value);
    if (p) out.add(p.exten);
  }
  return [...out];
}

/** Numbers of this object that a call from endpointContext does not reach in infrasec's context, with why and what to do. */
export function unreachable(o: AsteriskObject, live: LiveAsterisk, layout: AsteriskLayout): string[] {
  const reach = live.running.reach;
  if (!reach) return [];
  const out: string[] = [];
  for (const n of dialledNumbers(o, layout)) {
    const r = reach.get(n);
    if (!r || (r.answeredBy !== null && lower(r.answeredBy) === lower(layout.context))) continue;
    if (!r.reached) {
      const instead = r.answeredBy === null ? 'nothing answers it' : `[${r.answeredBy}] answers it instead`;
      out.push(
        `${n}@${layout.endpointContext} never reaches [${layout.context}] (${instead}): ${layout.endpointContext} does not include [${layout.includeFrom || layout.context}], directly or through its includes. ` +
          (layout.includeFrom
            ? `Set includeFrom to a context ${layout.endpointContext} includes (it is ${layout.includeFrom} now)`
            : `Add "include => ${layout.context}" to a context ${layout.endpointContext} includes, or set includeFrom`),
      );
    } else {
      out.push(`${n}@${layout.endpointContext} is answered by [${r.answeredBy}], which ${layout.endpointContext} searches before [${layout.context}]: remove ${n} from [${r.answeredBy}] or give this object another number`);
    }
  }
  return out;
}
