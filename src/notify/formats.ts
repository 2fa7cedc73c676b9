// Pure: the JSON body of a notification for each kind of receiver (generic, Slack, Mattermost, Rocket.Chat, Microsoft Teams), as each one's incoming webhook takes it.
import { eventSeverity, eventTitle, notificationDetails, notificationText, type Notification } from './notification.ts';

/** `generic`: infrasec's own JSON plus `text`; `slack`, `mattermost`, `rocket`: Slack-style `text` + attachment; `msteams`: an Adaptive Card. */
export const WEBHOOK_FORMATS = ['generic', 'slack', 'mattermost', 'rocket', 'msteams'] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

/** Pure: the body to post. Values from the desired state (names, messages) are escaped for the receiver's markup. */
export function webhookBody(format: WebhookFormat, n: Notification): Record<string, unknown> {
  switch (format) {
    case 'generic':
      return { ...n, text: notificationText(n) };
    case 'slack':
      return slackStyle(n, escapeSlack);
    case 'mattermost':
    case 'rocket':
      return slackStyle(n, escapeMarkdown);
    case 'msteams':
      return teamsCard(n);
  }
}

/**
 * Slack's mrkdwn reads `<…>` as links and mentions (`<!channel>`), so &, < and > are escaped as Slack asks.
 */
export function escapeSlack(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Mattermost and Rocket.Chat render Markdown and turn `@all`, `@channel`, `@here` or `@name` into mentions: a
 * backslash before the characters that make emphasis, code, links or tables and a zero-width space after each `@` keep a value plain text.
 */
export function escapeMarkdown(s: string): string {
  return s.replace(/([\\`*_[\]~|])/g, '\\$1').replace(/@/g, '@\u200b');
}

const SLACK_COLOURS = { warning: '#daa038', error: '#d00000' } as const;

function slackStyle(n: Notification, escape: (s: string) => string): Record<string, unknown> {
  const details = notificationDetails(n);
  return {
    text: escape(notificationText(n)),
    attachments: [{
      color: SLACK_COLOURS[eventSeverity(n.event)],
      title: escape(`${eventTitle(n.event)}: ${n.system}`),
      ...(details.length > 0 ? { text: details.map(escape).join('\n') } : {}),
      fields: [
        { title: 'system', value: escape(n.system), short: true },
        { title: 'revision', value: escape(n.revision.slice(0, 12)), short: true },
        { title: 'event', value: n.event, short: true },
        { title: 'time', value: n.time, short: true },
      ],
      fallback: escape(notificationText(n)),
    }],
  };
}

// Teams renders Adaptive Cards up to version 1.4 (as Flux's notification-controller notes).
function teamsCard(n: Notification): Record<string, unknown> {
  const details = notificationDetails(n);
  const block = (text: string, extra: Record<string, unknown> = {}) => ({ type: 'TextBlock', text, wrap: true, ...extra });
  return {
    type: 'message',
    summary: notificationText(n),
    attachments: [{
      contentType: 'application/vnd.microsoft.card.adaptive',
      content: {
        $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
        type: 'AdaptiveCard',
        version: '1.4',
        msteams: { width: 'Full' },
        body: [
          block(`infrasec: ${eventTitle(n.event)}`, { size: 'large', weight: 'bolder' }),
          block(notificationText(n), eventSeverity(n.event) === 'error' ? { color: 'attention' } : { color: 'warning' }),
          { type: 'FactSet', facts: [{ title: 'system', value: n.system }, { title: 'revision', value: n.revision.slice(0, 12) }, { title: 'event', value: n.event }, { title: 'time', value: n.time }] },
          ...details.map((d) => block(d, { spacing: 'none', fontType: 'monospace' })),
        ],
      },
    }],
  };
}
