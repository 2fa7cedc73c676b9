// Authenticates forge push webhooks (GitLab X-Gitlab-Token, GitHub X-Hub-Signature-256). Pure apart from node:crypto; never echoes a secret.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export type WebhookVerdict =
  | { readonly ok: true; readonly forge: 'gitlab' | 'github' }
  | { readonly ok: false; readonly reason: string };

/** Compares two strings in time independent of where they differ (and of their lengths, by hashing first). */
export function constantTimeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  // The hashes always have the same length; the final length check only matters on a hash collision.
  return timingSafeEqual(ha, hb) && a.length === b.length;
}

/** `sha256=<hex>` over the raw body, as GitHub sends it. */
export function githubSignature(body: Uint8Array, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export function verifyGithubSignature(body: Uint8Array, header: string | undefined, secret: string): boolean {
  if (!header || !/^sha256=[0-9a-f]{64}$/i.test(header.trim())) return false;
  return constantTimeEqual(header.trim().toLowerCase(), githubSignature(body, secret));
}

export function verifyGitlabToken(header: string | undefined, secret: string): boolean {
  if (header === undefined || header === '') return false;
  return constantTimeEqual(header, secret);
}

/**
 * Decides whether a webhook request is authentic. Header names are lower-case (as node:http gives them).
 * GitHub's HMAC wins when present; a request with neither header, or a wrong one, is refused.
 */
export function verifyWebhook(headers: Readonly<Record<string, string | string[] | undefined>>, body: Uint8Array, secret: string | undefined): WebhookVerdict {
  if (!secret) return { ok: false, reason: 'no webhook secret is configured' };
  const one = (h: string | string[] | undefined) => (Array.isArray(h) ? h[0] : h);
  const hub = one(headers['x-hub-signature-256']);
  if (hub !== undefined) return verifyGithubSignature(body, hub, secret) ? { ok: true, forge: 'github' } : { ok: false, reason: 'X-Hub-Signature-256 does not match' };
  const token = one(headers['x-gitlab-token']);
  if (token !== undefined) return verifyGitlabToken(token, secret) ? { ok: true, forge: 'gitlab' } : { ok: false, reason: 'X-Gitlab-Token does not match' };
  return { ok: false, reason: 'no X-Hub-Signature-256 or X-Gitlab-Token header' };
}
