// The one exit-code table of plan, apply, drift: pass results → code, worst first.
import { describe, expect, it } from 'vitest';
import { EXIT, reconcileExitCode } from '../../src/commands/exit-codes.ts';
import type { PassMode, PassStatus } from '../../src/engine/pass.ts';
import type { Conflict } from '../../src/engine/types.ts';

const unowned: Conflict = { system: 'directory', kind: 'User', name: 'svcbackup', message: 'exists and is not managed by infrasec' };
const blocking: Conflict = { ...unowned, blocking: true };
const note: Conflict = { system: 'firewall', kind: 'VpnProfile', name: 'vpn-a', message: 'unsupported: totp', advisory: true };
const r = (status: PassStatus, conflicts: Conflict[] = []) => ({ status, conflicts });

describe('reconcileExitCode', () => {
  it.each<{ name: string; mode: PassMode; results: ReturnType<typeof r>[]; code: number }>([
    { name: 'plan with nothing to do', mode: 'plan', results: [r('in-sync')], code: EXIT.ok },
    { name: 'plan with changes pending', mode: 'plan', results: [r('changes')], code: EXIT.changes },
    { name: 'plan of an unowned object in the way, nothing else to do', mode: 'plan', results: [r('in-sync', [unowned])], code: EXIT.conflicts },
    { name: 'plan with changes and a conflict: the conflict', mode: 'plan', results: [r('changes', [unowned]), r('changes')], code: EXIT.conflicts },
    { name: 'plan with only advisory notes', mode: 'plan', results: [r('in-sync', [note])], code: EXIT.ok },
    { name: 'plan with changes and advisory notes', mode: 'plan', results: [r('changes', [note])], code: EXIT.changes },
    { name: 'plan refused by a guard', mode: 'plan', results: [r('refused'), r('changes', [unowned])], code: EXIT.refused },
    { name: 'plan of which one system failed', mode: 'plan', results: [r('failed'), r('refused'), r('changes', [unowned])], code: EXIT.error },
    { name: 'a blocking conflict fails the pass: 1, as before', mode: 'plan', results: [r('failed', [blocking])], code: EXIT.error },
    { name: 'plan of a suspended system', mode: 'plan', results: [r('skipped')], code: EXIT.ok },
    { name: 'apply done', mode: 'apply', results: [r('applied')], code: EXIT.ok },
    { name: 'apply with changes held back (pruning off)', mode: 'apply', results: [r('changes')], code: EXIT.ok },
    { name: 'apply that left a conflict', mode: 'apply', results: [r('applied', [unowned])], code: EXIT.conflicts },
    { name: 'apply refused', mode: 'apply', results: [r('refused')], code: EXIT.refused },
    { name: 'apply of which a system failed', mode: 'apply', results: [r('applied'), r('failed')], code: EXIT.error },
    { name: 'drift found', mode: 'drift', results: [r('changes')], code: EXIT.changes },
    { name: 'drift with a conflict', mode: 'drift', results: [r('in-sync', [unowned])], code: EXIT.conflicts },
    { name: 'drift of an unreachable system', mode: 'drift', results: [r('failed')], code: EXIT.error },
  ])('$name → $code', ({ mode, results, code }) => {
    expect(reconcileExitCode(mode, results)).toBe(code);
  });

  it('keeps the codes that were documented before conflicts had their own', () => {
    expect(EXIT).toEqual({ ok: 0, error: 1, changes: 2, refused: 3, conflicts: 4 });
  });
});
