// Pure: each receiver's body, as its incoming webhook takes it, with values from the desired state escaped for its markup.
import { describe, expect, it } from 'vitest';
import { escapeMarkdown, escapeSlack, webhookBody } from '../../src/notify/formats.ts';
import { notificationText, type Notification } from '../../src/notify/notification.ts';

const note: Notification = {
  event: 'apply.failed', time: '2026-03-01T12:00:00Z', system: 'active-directory', revision: 'abcdef0123456789abcdef0123456789abcdef01',
  summary: 'active-directory: 1 of 2 change(s) failed', error: { code: 'apply-failed', message: '1 of 2 change(s) failed' },
  objects: [{ system: 'active-directory', kind: 'User', name: 'jdupont', action: 'update', reason: 'fields differ', fields: [{ path: 'spec.title', before: 'a', after: 'b' }], error: 'constraint violation' }],
};

describe('generic', () => {
  it('keeps every field it always had and adds text, the one human line', () => {
    const body = webhookBody('generic', note);
    expect(body).toEqual({ ...note, text: notificationText(note) });
    expect(body['text']).toBe('infrasec: apply failed in active-directory at abcdef012345: 1 of 2 change(s) failed');
  });
});

describe.each(['slack', 'mattermost', 'rocket'] as const)('%s', (format) => {
  it('has the text an incoming webhook needs, and an attachment with the details and the facts', () => {
    const body = webhookBody(format, note) as { text: string; attachments: Array<{ color: string; text: string; fields: Array<{ title: string; value: string }> }> };
    expect(body.text).toContain('apply failed in active');
    expect(body.attachments).toHaveLength(1);
    expect(body.attachments[0]!.color).toBe('#d00000');
    expect(body.attachments[0]!.text).toContain('jdupont');
    expect(body.attachments[0]!.fields.map((f) => f.title)).toEqual(['system', 'revision', 'event', 'time']);
    expect(Object.keys(body)).not.toContain('event');
  });
});

describe('msteams', () => {
  it('is an Adaptive Card 1.4 in a message envelope, the text in a TextBlock and the facts in a FactSet', () => {
    const body = webhookBody('msteams', note) as { type: string; attachments: Array<{ contentType: string; content: { type: string; version: string; body: Array<{ type: string; text?: string; facts?: unknown[] }> } }> };
    expect(body.type).toBe('message');
    const card = body.attachments[0]!;
    expect(card.contentType).toBe('application/vnd.microsoft.card.adaptive');
    expect(card.content).toMatchObject({ type: 'AdaptiveCard', version: '1.4' });
    expect(card.content.body.some((b) => b.type === 'TextBlock' && b.text === notificationText(note))).toBe(true);
    expect(card.content.body.find((b) => b.type === 'FactSet')!.facts).toContainEqual({ title: 'system', value: 'active-directory' });
    expect(card.content.body.some((b) => b.text?.includes('User/jdupont update'))).toBe(true);
  });
});

describe('escaping values from the desired state', () => {
  const hostile: Notification = { ...note, event: 'drift.found', objects: [{ object: 'User/<!channel> @all *x*', action: 'update', corrected: false, fields: [] }] };

  it('turns Slack control sequences into text', () => {
    expect(escapeSlack('<!channel> a&b <https://x|y>')).toBe('&lt;!channel&gt; a&amp;b &lt;https://x|y&gt;');
    const body = webhookBody('slack', hostile) as { text: string; attachments: Array<{ text: string }> };
    expect(body.text).not.toContain('<!channel>');
    expect(body.attachments[0]!.text).toContain('&lt;!channel&gt;');
  });

  it('keeps Mattermost and Rocket.Chat from reading a mention or Markdown in a value', () => {
    expect(escapeMarkdown('@all *bold* [l](u) a_b `c`')).toBe('@\u200ball \\*bold\\* \\[l\\](u) a\\_b \\`c\\`');
    const body = webhookBody('mattermost', hostile) as { text: string; attachments: Array<{ text: string }> };
    expect(body.attachments[0]!.text).not.toMatch(/@all/);
    expect(body.attachments[0]!.text).not.toMatch(/(^|[^\\])\*x/);
  });
});
