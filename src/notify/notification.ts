// What the controller tells people: the notification as data, and what a delivery target implements.

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
