// Several notification targets behind one Notifier: each notification goes to every target at once, and each target reports its own failure.
import type { Notification, Notifier } from './notification.ts';

export class FanOutNotifier implements Notifier {
  constructor(private readonly targets: readonly Notifier[]) {}

  /** True when every target took it; a target that failed has already logged and counted its failure. */
  async send(n: Notification, signal?: AbortSignal): Promise<boolean> {
    const results = await Promise.all(this.targets.map((t) => t.send(n, signal)));
    return results.every(Boolean);
  }
}
