// Whose an Asterisk config section is: this instance's (its ownership template), another instance's, an earlier version's (the template without an instance), or the admin's.
import type { AsteriskLayout } from './settings.ts';

/** The template sections inherited before templates named their instance: `[200](infrasec-managed)`. */
export const LEGACY_OWNERSHIP_TEMPLATE = 'infrasec-managed';

/**
 * The empty template every section this instance writes inherits (`[200](infrasec-managed-default)`). GetConfig
 * reports it as `Templates-NNNNNN`, UpdateConfig writes it back, modules skip templates, and it has no variables, so
 * inheriting it changes nothing Asterisk loads. A section without an infrasec template is the admin's.
 */
export function ownershipTemplate(instance: string): string {
  return `${LEGACY_OWNERSHIP_TEMPLATE}-${instance}`;
}

export type SectionOwner =
  | { readonly by: 'this' }
  /** Written by an earlier infrasec; this instance takes it over only within its scope (observe.ts). */
  | { readonly by: 'legacy' }
  | { readonly by: 'instance'; readonly instance: string }
  | { readonly by: 'admin' };

const PREFIX = `${LEGACY_OWNERSHIP_TEMPLATE}-`;

/** Asterisk compares category names without case, so template names are compared so too. */
export function ownerOf(templates: readonly string[], layout: Pick<AsteriskLayout, 'template'>): SectionOwner {
  const lowered = templates.map((t) => t.toLowerCase());
  if (lowered.includes(layout.template.toLowerCase())) return { by: 'this' };
  const other = templates.find((t) => t.toLowerCase().startsWith(PREFIX) && t.length > PREFIX.length);
  if (other !== undefined) return { by: 'instance', instance: other.slice(PREFIX.length) };
  if (lowered.includes(LEGACY_OWNERSHIP_TEMPLATE)) return { by: 'legacy' };
  return { by: 'admin' };
}

/**
 * Who holds a section this instance does not own, for a conflict message: another instance's name, or '' for an
 * earlier version's section outside this instance's scope.
 */
export function describeOwner(instance: string): string {
  return instance === '' ? `an earlier infrasec without an instance (outside this instance's scope: its dialplan lines are not in this instance's context)` : `infrasec instance "${instance}"`;
}

/** The plan's note on config an earlier version wrote, taken over by the instance whose dialplan context holds it. */
export function takeOverNote(layout: Pick<AsteriskLayout, 'instance' | 'context'>): string {
  return `written by an earlier infrasec without an instance; taken over by instance "${layout.instance}" as its dialplan lies in [${layout.context}], this instance's context`;
}
