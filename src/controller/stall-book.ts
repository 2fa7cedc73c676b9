// Which systems are stalled (a failure retrying would repeat) and on which revision and configuration: a stall lasts until either changes.
import type { Config } from '../config.ts';
import { sha256Hex } from '../desired/secret.ts';
import type { SystemName } from '../engine/types.ts';
import type { Stall } from './status.ts';

export class StallBook {
  private readonly stalls = new Map<SystemName, Stall>();
  private readonly digests = new Map<SystemName, string>();

  constructor(private readonly config: Config) {}

  /** Digest of a system's configuration section (secrets included, as a hash only): a stall lasts until it changes. */
  configDigest(system: SystemName): string {
    let digest = this.digests.get(system);
    if (!digest) {
      digest = sha256Hex(JSON.stringify(this.config.systems[system] ?? null));
      this.digests.set(system, digest);
    }
    return digest;
  }

  /** Keeps a persisted stall only if it happened under this configuration: new credentials are worth one more try. */
  restore(system: SystemName, stall: Stall): boolean {
    if (stall.configDigest !== this.configDigest(system)) return false;
    this.stalls.set(system, stall);
    return true;
  }

  isStalled(system: SystemName, revision: string): boolean {
    const stall = this.stalls.get(system);
    return stall !== undefined && stall.revision === revision && stall.configDigest === this.configDigest(system);
  }

  /** The outcome of a pass: a new stall, or none (which ends any earlier one). Returns whether one was in force before. */
  record(system: SystemName, stall: Stall | undefined): boolean {
    const was = this.stalls.delete(system);
    if (stall) this.stalls.set(system, stall);
    return was;
  }

  /** What controller-state.json keeps. */
  persisted(): Partial<Record<SystemName, Stall>> {
    return Object.fromEntries(this.stalls);
  }
}
