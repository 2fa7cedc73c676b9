// Builds one reconciler per configured system from the controller configuration; the only file that knows every system.
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { ResolvedState } from '../desired/model.ts';
import { Secret, sha256Hex } from '../desired/secret.ts';
import { ActiveDirectoryReconciler } from '../reconcilers/active-directory/reconciler.ts';
import { AsteriskReconciler } from '../reconcilers/asterisk/reconciler.ts';
import type { FingerprintStore } from './fingerprints.ts';
import { SYSTEMS, type Reconciler, type SystemName } from './types.ts';

export type AnyReconciler = Reconciler<ResolvedState, unknown>;

export interface SystemDeps {
  readonly fingerprints: FingerprintStore;
  readonly logger: Logger;
  readonly now?: () => Date;
}

export interface SystemSet {
  readonly reconcilers: ReadonlyMap<SystemName, AnyReconciler>;
  readonly skipped: ReadonlyArray<{ system: SystemName; reason: string }>;
}

/** A connection credential from configuration, wrapped so it never prints. */
function credential(value: string, id: string): Secret {
  return new Secret(value, 'env', sha256Hex(`credential:${id}`));
}

const NOT_BUILT: Partial<Record<SystemName, string>> = {
  pfsense: 'no reconciler yet',
  modoboa: 'no reconciler yet',
};

/** Reconcilers for the configured systems (restricted to `only` when given); the others are reported as skipped. */
export function buildSystems(config: Config, deps: SystemDeps, only?: readonly SystemName[]): SystemSet {
  const reconcilers = new Map<SystemName, AnyReconciler>();
  const skipped: Array<{ system: SystemName; reason: string }> = [];
  for (const system of SYSTEMS) {
    if (only && !only.includes(system)) continue;
    const reconciler = build(system, config, deps);
    if (typeof reconciler === 'string') skipped.push({ system, reason: reconciler });
    else reconcilers.set(system, reconciler);
  }
  return { reconcilers, skipped };
}

function build(system: SystemName, config: Config, deps: SystemDeps): AnyReconciler | string {
  const log = deps.logger.child({ system });
  switch (system) {
    case 'active-directory': {
      const ad = config.systems['active-directory'];
      if (!ad) return 'not configured';
      return new ActiveDirectoryReconciler(
        {
          url: ad.url, bindDN: ad.bindDN, bindPassword: credential(ad.bindPassword ?? '', 'ad-bind'), baseDN: ad.baseDN,
          managedOU: ad.managedOU, caFile: ad.caFile, tlsServerName: ad.tlsServerName, tlsInsecure: ad.tlsInsecure,
          upnSuffix: ad.upnSuffix, timeoutMs: ad.timeoutMs,
        },
        { fingerprints: deps.fingerprints, logger: log, now: deps.now },
      ) as unknown as AnyReconciler;
    }
    case 'asterisk': {
      const ami = config.systems.asterisk;
      if (!ami) return 'not configured';
      return new AsteriskReconciler(
        {
          host: ami.host, port: ami.port, username: ami.username, secret: credential(ami.secret ?? '', 'ami'), timeoutMs: ami.timeoutMs,
          authType: ami.authType, files: ami.files, context: ami.context, endpointContext: ami.endpointContext,
          messageContext: ami.messageContext, voicemailContext: ami.voicemailContext, transports: ami.transports,
        },
        { fingerprints: deps.fingerprints, logger: log, now: deps.now },
      ) as unknown as AnyReconciler;
    }
    default:
      return NOT_BUILT[system] ?? 'not configured';
  }
}
