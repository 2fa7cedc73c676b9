// What the controller tells people: the notification as data, the one line and the detail lines a person reads, and what a delivery target implements.

export type NotifyEvent = 'drift.found' | 'apply.failed' | 'guard.refused' | 'source.rejected';

/** What is sent. Object fields are already redacted (sensitive values never leave the controller). */
export interface Notification {
  readonly event: NotifyEvent;
  readonly time: string;
  readonly system: string;
  readonly revision: string;
  readonly summary: string;
  readonly objects?: ReadonlyArray<Record<string, unknown>>;
  readonly reasons?: readonly string[];
  readonly error?: { readonly code: string; readonly message: string };
}

/** One delivery target (a webhook, an e-mail relay), or several behind one. */
export interface Notifier {
  /** True when every target took the notification. Never throws: a failure is logged and reported by the target. */
  send(n: Notification, signal?: AbortSignal): Promise<boolean>;
}

const TITLES: Record<NotifyEvent, string> = {
  'drift.found': 'drift found',
  'apply.failed': 'apply failed',
  'guard.refused': 'guard refused the plan',
  'source.rejected': 'head not applied',
};

/** Pure: the event's title as a person reads it ("apply failed"). */
export function eventTitle(event: NotifyEvent): string {
  return TITLES[event];
}

/** Pure: how bad it is, for a chat message's colour: drift is a warning, the rest are failures. */
export function eventSeverity(event: NotifyEvent): 'warning' | 'error' {
  return event === 'drift.found' ? 'warning' : 'error';
}

const MAX_TEXT = 400;
const MAX_DETAILS = 10;

/** `Kind/name` of an object entry: drift entries carry `object`, failed changes `kind` and `name`. */
export function objectName(o: Readonly<Record<string, unknown>>): string {
  if (typeof o['object'] === 'string') return o['object'];
  return `${String(o['kind'] ?? '?')}/${String(o['name'] ?? '?')}`;
}

function oneLine(s: string, max: number): string {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/**
 * Pure: one line a person reads in a chat channel or as a mail subject, e.g.
 * `infrasec: apply failed in pbx at 1a2b3c4d5e6f: 1 of 3 change(s) failed`. At most 400 characters.
 */
export function notificationText(n: Notification): string {
  const at = n.revision.slice(0, 12);
  const names = (n.objects ?? []).map(objectName);
  const shown = names.length > 0 ? ` (${names.slice(0, 3).join(', ')}${names.length > 3 ? ` and ${names.length - 3} more` : ''})` : '';
  const line =
    n.event === 'drift.found' ? `infrasec: ${names.length} object(s) in ${n.system} drifted from ${at}${shown}`
    : n.event === 'apply.failed' ? `infrasec: apply failed in ${n.system} at ${at}: ${n.error?.message ?? n.summary}`
    : n.event === 'guard.refused' ? `infrasec: a guard refused the plan for ${n.system} at ${at}: ${(n.reasons ?? []).join('; ') || n.summary}`
    : `infrasec: head ${at} not applied: ${n.error?.message ?? n.summary}`;
  return oneLine(line, MAX_TEXT);
}

/** Pure: up to ten lines of what is behind the one line (objects, reasons), then how many more there are. */
export function notificationDetails(n: Notification): string[] {
  const lines: string[] = [];
  for (const o of n.objects ?? []) {
    const fields = Array.isArray(o['fields']) ? (o['fields'] as Array<Record<string, unknown>>).map((f) => String(f['path'] ?? '')).filter(Boolean) : [];
    const state = n.event === 'drift.found' ? (o['corrected'] === true ? ' (corrected)' : ' (not corrected)') : '';
    const error = typeof o['error'] === 'string' && o['error'] ? `: ${o['error']}` : '';
    lines.push(oneLine(`${objectName(o)} ${String(o['action'] ?? '')}${state}${fields.length > 0 ? ` [${fields.join(', ')}]` : ''}${error}`, 300));
  }
  for (const r of n.reasons ?? []) lines.push(oneLine(r, 300));
  if (lines.length <= MAX_DETAILS) return lines;
  return [...lines.slice(0, MAX_DETAILS), `… and ${lines.length - MAX_DETAILS} more`];
}
