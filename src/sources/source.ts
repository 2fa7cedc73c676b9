// The contract between a source of desired state (Git, local directory) and the controller loop, as plain data.
import { InfrasecError } from '../errors.ts';
import type { Lineage } from './fast-forward.ts';

export type SignatureState = 'good' | 'unsigned' | 'bad' | 'untrusted' | 'expired' | 'revoked' | 'unknown-key' | 'not-checked';

export interface SignatureCheck {
  readonly state: SignatureState;
  /** Principal (SSH allowed signers) or user id (OpenPGP) of the signer, when known. */
  readonly signer?: string;
  /** Key id or fingerprint that made the signature. */
  readonly key?: string;
}

/** One revision of the desired state, checked out on disk and ready to load. */
export interface SourceSnapshot {
  /** Commit hash, or `sha256:<hex>` content digest in directory mode. */
  readonly revision: string;
  /** Directory holding the desired-state YAML (repository root joined with the configured path). */
  readonly root: string;
  /** `Name <email>` of the commit author; absent in directory mode. */
  readonly author?: string;
  readonly committedAt?: string;
  readonly subject?: string;
  readonly signature: SignatureCheck;
  /** Not checked out: the commit's YAML is larger than the whole-state limit (measured in Git before writing any file). */
  readonly tooLarge?: { readonly bytes: number; readonly limit: number };
}

export interface SourceDescription {
  readonly kind: 'git' | 'directory';
  /** Location with any credentials removed. */
  readonly location: string;
  readonly ref?: string;
  readonly path?: string;
}

export interface Source {
  describe(): SourceDescription;
  /** Fetches the pinned ref and checks it out. Throws SourceError (retryable) when unreachable. */
  sync(signal: AbortSignal): Promise<SourceSnapshot>;
  /** Checks out a revision seen before (the last applied one), without the network; undefined when not available. */
  checkout(revision: string, signal: AbortSignal): Promise<SourceSnapshot | undefined>;
  /** Signature verification refuses this snapshot: the reason, or undefined when it may be applied. */
  refusal(snapshot: SourceSnapshot): string | undefined;
  /** How `head` relates to the adopted revision (history sources only; a directory has no history). */
  lineage?(adopted: string, head: string, signal: AbortSignal): Promise<Lineage>;
  /** Starts watching for changes the source notices itself (directory mode); returns a stopper. */
  watch?(onChange: () => void): () => Promise<void>;
}

/** The source could not be read (Git unreachable, ref missing, checkout failed). Retried with backoff; the last good revision stays enforced. */
export class SourceError extends InfrasecError {
  constructor(message: string, context: Readonly<Record<string, unknown>> = {}, options?: ErrorOptions) {
    super('source-unavailable', message, context, options);
  }
}
