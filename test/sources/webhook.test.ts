// Unit: webhook authentication — GitHub HMAC-SHA256 over the raw body, GitLab shared token, constant-time comparison.
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { constantTimeEqual, githubSignature, verifyGithubSignature, verifyGitlabToken, verifyWebhook } from '../../src/sources/webhook.ts';

const secret = 'hook-secret-1';
const body = Buffer.from('{"ref":"refs/heads/main"}');
const good = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

describe('verifyGithubSignature', () => {
  it('accepts the HMAC-SHA256 of the raw body, in either hex case', () => {
    expect(githubSignature(body, secret)).toBe(good);
    expect(verifyGithubSignature(body, good, secret)).toBe(true);
    expect(verifyGithubSignature(body, good.toUpperCase().replace('SHA256=', 'sha256='), secret)).toBe(true);
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['sha1 form', `sha1=${createHmac('sha1', secret).update(body).digest('hex')}`],
    ['no prefix', good.slice('sha256='.length)],
    ['truncated', good.slice(0, -2)],
    ['other secret', `sha256=${createHmac('sha256', 'other').update(body).digest('hex')}`],
  ])('refuses a %s signature', (_label, header) => {
    expect(verifyGithubSignature(body, header, secret)).toBe(false);
  });

  it('refuses a valid signature when one byte of the body changed', () => {
    expect(verifyGithubSignature(Buffer.from('{"ref":"refs/heads/mainX"}'), good, secret)).toBe(false);
  });
});

describe('verifyGitlabToken', () => {
  it('accepts the exact token only', () => {
    expect(verifyGitlabToken(secret, secret)).toBe(true);
    expect(verifyGitlabToken(`${secret} `, secret)).toBe(false);
    expect(verifyGitlabToken(secret.slice(0, -1), secret)).toBe(false);
    expect(verifyGitlabToken('', secret)).toBe(false);
    expect(verifyGitlabToken(undefined, secret)).toBe(false);
  });
});

describe('verifyWebhook', () => {
  it('names the forge that authenticated', () => {
    expect(verifyWebhook({ 'x-hub-signature-256': good }, body, secret)).toEqual({ ok: true, forge: 'github' });
    expect(verifyWebhook({ 'x-gitlab-token': secret }, body, secret)).toEqual({ ok: true, forge: 'gitlab' });
  });

  it('refuses without a header, with a wrong one, and when no secret is configured', () => {
    expect(verifyWebhook({}, body, secret).ok).toBe(false);
    expect(verifyWebhook({ 'x-gitlab-token': 'nope' }, body, secret).ok).toBe(false);
    expect(verifyWebhook({ 'x-hub-signature-256': good }, body, undefined).ok).toBe(false);
    expect(verifyWebhook({ 'x-hub-signature-256': good }, body, '').ok).toBe(false);
  });

  it('does not let a correct GitLab token rescue a wrong GitHub signature', () => {
    expect(verifyWebhook({ 'x-hub-signature-256': 'sha256=' + '0'.repeat(64), 'x-gitlab-token': secret }, body, secret).ok).toBe(false);
  });

  it('never puts the secret in a refusal reason', () => {
    const v = verifyWebhook({ 'x-gitlab-token': 'guess' }, body, secret);
    expect(v.ok).toBe(false);
    expect(JSON.stringify(v)).not.toContain(secret);
  });
});

describe('constantTimeEqual', () => {
  it('compares content and length', () => {
    expect(constantTimeEqual('abc', 'abc')).toBe(true);
    expect(constantTimeEqual('abc', 'abd')).toBe(false);
    expect(constantTimeEqual('abc', 'abcd')).toBe(false);
    expect(constantTimeEqual('', '')).toBe(true);
  });
});
