import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log.ts';
import { AsteriskReconciler } from '../../../src/reconcilers/asterisk/reconciler.ts';
import { type Pbx, startPbx } from './pbx-fixture.ts';

let pbx: Pbx;
beforeAll(async () => {
  pbx = await startPbx();
});
afterAll(async () => {
  await pbx?.close();
});

describe('observe under abort', () => {
  // A controller stopping on SIGTERM aborts the pass in flight: every pipelined read must reject handled,
  // or Node exits with code 1 on the unhandled rejection instead of stopping cleanly.
  it('rejects once and leaves no unhandled rejection when aborted while reads are in flight', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      for (let attempt = 0; attempt < 5; attempt++) {
        const rec = new AsteriskReconciler(pbx.settings, { logger: silentLogger });
        const ac = new AbortController();
        const before = pbx.emulator.stats.actions['GetConfig'] ?? 0;
        const observing = rec.observe(ac.signal);
        // Abort as soon as the first GetConfig reached the PBX: the other reads are still pending.
        while ((pbx.emulator.stats.actions['GetConfig'] ?? 0) === before) await new Promise((r) => setImmediate(r));
        ac.abort(new Error('controller stopping'));
        await expect(observing).rejects.toThrow();
        await rec.close();
      }
      await new Promise((r) => setTimeout(r, 50));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
