// Pure: settings that expose the controller — an operations listener reachable off the host without a bearer token, a Git token sent in clear over http://.
import { isIP } from 'node:net';

export type InsecurePolicy = 'warn' | 'refuse';

/** True for 127.0.0.0/8, ::1, ::ffff:127.x and `localhost`: only this host can connect. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/** Why the operations endpoints are open to the network, or undefined. */
export function listenerExposure(host: string, hasBearerToken: boolean): string | undefined {
  if (hasBearerToken || isLoopbackHost(host)) return undefined;
  return `the operations endpoints listen on ${host || '0.0.0.0'} without a bearer token: /status, /drift and /metrics are open to the network; ` +
    'set controller.bearerTokenFile (INFRASEC_BEARER_TOKEN_FILE) or listen on 127.0.0.1';
}

/** Why a Git token would travel in clear, or undefined. */
export function gitTokenExposure(url: string, hasToken: boolean): string | undefined {
  if (!hasToken || !/^http:\/\//i.test(url.trim())) return undefined;
  return 'the Git token is sent over plain http:// where anyone on the path can read it; use an https:// URL';
}
