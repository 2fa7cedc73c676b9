// An abortable sleep a worker or the source loop waits in: ends early on wake() or abort, and remembers a wake() nobody waited for.
export class Wakeup {
  private pending = false;
  private resolve: (() => void) | undefined;

  wake(): void {
    this.pending = true;
    this.resolve?.();
  }

  /** Resolves true when woken or the delay elapsed, false when the signal aborted. `undefined` waits for a wake. */
  wait(ms: number | undefined, signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return Promise.resolve(false);
    if (this.pending) {
      this.pending = false;
      return Promise.resolve(true);
    }
    return new Promise<boolean>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (v: boolean) => {
        if (timer) clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.resolve = undefined;
        this.pending = false;
        resolve(v);
      };
      const onAbort = () => done(false);
      signal.addEventListener('abort', onAbort, { once: true });
      this.resolve = () => done(true);
      if (ms !== undefined) timer = setTimeout(() => done(true), Math.max(0, ms));
    });
  }
}
