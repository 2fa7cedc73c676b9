// Which live AD objects this controller instance owns: its own marker and inside its managed OU; an earlier version's marker (no instance) counts there too.
import { isDnWithin } from './escape.ts';
import type { AdLayout } from './model.ts';

/** adminDescription written by infrasec before markers named their instance. */
export const LEGACY_OWNERSHIP_MARKER = 'managed-by=infrasec';

/** adminDescription written on every object this instance creates or adopts. */
export function ownershipMarker(instance: string): string {
  return `${LEGACY_OWNERSHIP_MARKER};instance=${instance}`;
}

export interface Ownership {
  /** This instance may change and remove the object. */
  readonly owned: boolean;
  /** Owned through the marker of an earlier version: the next write of the object also rewrites the marker. */
  readonly legacyMarker: boolean;
}

type Scope = Pick<AdLayout, 'managedOU' | 'marker'>;

/** Owned only with this instance's marker (or the legacy one) and inside the managed OU: a marker elsewhere in the domain is not enough. */
export function ownershipOf(adminDescription: string | undefined, dn: string, scope: Scope): Ownership {
  const marked = adminDescription === scope.marker || adminDescription === LEGACY_OWNERSHIP_MARKER;
  const owned = marked && isDnWithin(dn, scope.managedOU);
  return { owned, legacyMarker: owned && adminDescription === LEGACY_OWNERSHIP_MARKER };
}

/** Why an object with a desired name is not this instance's, for the conflict message. */
export function notOwnedBecause(adminDescription: string | undefined, dn: string, scope: Scope): string {
  const other = /^managed-by=infrasec;instance=(.+)$/.exec(adminDescription ?? '')?.[1];
  if (adminDescription === scope.marker || adminDescription === LEGACY_OWNERSHIP_MARKER) {
    return `it carries infrasec's marker but lies outside this instance's managed OU ${scope.managedOU}`;
  }
  if (other !== undefined) return `it belongs to another infrasec instance ("${other}")`;
  return `it was not created by infrasec (no adminDescription=${scope.marker})`;
}
