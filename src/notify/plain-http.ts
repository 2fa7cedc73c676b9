// Pure: whether a webhook target sends something worth protecting (a chat token in its URL, a signed body) over plain http:// to another machine, and the warning that says so.
import type { WebhookFormat } from './formats.ts';

/** `localhost`, 127.0.0.0/8 and ::1 (also IPv4-mapped): a plain connection that never leaves the machine. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost') || host === '::1') return true;
  const v4 = host.startsWith('::ffff:') ? host.slice('::ffff:'.length) : host;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

/**
 * The warning for a target, or undefined when there is nothing to say: chat formats carry their token in the URL, and
 * a secret says the receiver cares who sent the body, so either over http:// to another host crosses the network in
 * clear text (readable, and a signed post replayable within its 5 minutes). `setting` names where the URL was set.
 */
export function plainHttpWarning(target: { url: string; format: WebhookFormat; signed: boolean; setting: string }): string | undefined {
  const u = new URL(target.url);
  if (u.protocol !== 'http:' || isLoopbackHost(u.hostname)) return undefined;
  const exposed =
    target.format !== 'generic' ? `the ${target.format} webhook's token (in the URL path) and every notification cross the network unencrypted`
    : target.signed ? 'every signed notification crosses the network unencrypted (readable, and replayable for 5 minutes)'
    : undefined;
  if (exposed === undefined) return undefined;
  return `${target.setting} is plain http:// to ${u.origin}: ${exposed}; use the receiver's https:// URL`;
}
