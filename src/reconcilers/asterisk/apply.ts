// Turns guarded Changes into CreateConfig, batched UpdateConfig and Reload actions; records every outcome, never a failure as success.
import type { Logger } from 'pino';
import type { Secret } from '../../desired/secret.ts';
import type { Applied, ApplyHooks, GuardedPlan } from '../../engine/types.ts';
import { notAttempted } from '../../engine/apply-halt.ts';
import { InfrasecError, TargetUnavailableError } from '../../errors.ts';
import { AmiHeaderError, type AmiClient, type AmiHeaders, type HeaderValue } from './client.ts';
import { type AsteriskPayload, type ConfigOp, FILE_ROLES, type FileRole, MODULE_OF } from './model.ts';
import { type AsteriskChange, payloadOf } from './plan.ts';
import type { AsteriskLayout } from './settings.ts';

export interface ApplyDeps {
  readonly client: AmiClient;
  readonly layout: AsteriskLayout;
  /** Header lines one UpdateConfig may carry (Asterisk: 128). */
  readonly maxHeaderLines: number;
  /** Remembers, durably, that a module's file was written and its reload is owed (cleared once it succeeded). */
  readonly isReloadPending: (module: string) => boolean;
  readonly markReloadPending: (module: string) => Promise<void>;
  readonly clearReloadPending: (module: string) => Promise<void>;
  readonly logger?: Logger;
}

/** Action, ActionID, SrcFilename, DstFilename. */
const FIXED_HEADER_LINES = 4;

function opLines(op: ConfigOp): number {
  switch (op.op) {
    case 'NewCat':
      return op.inherit || op.template ? 3 : 2;
    case 'DelCat':
      return 2;
    case 'RenameCat':
      return 3;
    case 'Append':
      return 4;
    case 'Delete':
      return op.match === undefined ? 3 : 4;
  }
}

/** The numbered UpdateConfig headers of a batch: Action-000000, Cat-000000... contiguous, since a gap ends the list. */
export function updateConfigHeaders(file: string, ops: readonly ConfigOp[]): AmiHeaders {
  const headers: Array<readonly [string, HeaderValue]> = [['SrcFilename', file], ['DstFilename', file]];
  ops.forEach((op, i) => {
    const n = String(i).padStart(6, '0');
    headers.push([`Action-${n}`, op.op], [`Cat-${n}`, op.cat]);
    switch (op.op) {
      case 'NewCat':
        if (op.template) headers.push([`Options-${n}`, 'template']);
        else if (op.inherit) headers.push([`Options-${n}`, `inherit=${op.inherit}`]);
        break;
      case 'RenameCat':
        headers.push([`Value-${n}`, op.to]);
        break;
      case 'Append': {
        // A leading '>' makes UpdateConfig write `name => value` (and is dropped).
        const parts = typeof op.value === 'string' || !Array.isArray(op.value) ? [op.value as string | Secret] : (op.value as ReadonlyArray<string | Secret>);
        const value: HeaderValue = op.object ? ['>', ...parts] : op.value;
        headers.push([`Var-${n}`, op.var], [`Value-${n}`, value]);
        break;
      }
      case 'Delete':
        headers.push([`Var-${n}`, op.var]);
        if (op.match !== undefined) headers.push([`Match-${n}`, op.match]);
        break;
      case 'DelCat':
        break;
    }
  });
  return headers;
}

interface Progress {
  writes: number;
  error?: string;
  /** Nothing of it was sent: the connection was lost earlier in the pass (engine/apply-halt.ts). */
  notAttempted?: boolean;
  /** Units still to be written before the change is complete. */
  open: number;
}

/** The ops of one change for one file, plus where they may be split (OpGroup boundaries) if they do not fit one message. */
interface Unit {
  readonly change: AsteriskChange;
  readonly role: FileRole;
  readonly groups: ReadonlyArray<readonly ConfigOp[]>;
  readonly lines: number;
}

export async function applyPlan(plan: GuardedPlan<AsteriskPayload>, deps: ApplyDeps, signal: AbortSignal, hooks?: ApplyHooks<AsteriskPayload>): Promise<Applied<AsteriskPayload>[]> {
  const { client, layout, logger } = deps;
  const budget = deps.maxHeaderLines - FIXED_HEADER_LINES;
  const total = plan.changes.length;
  const results: Applied<AsteriskPayload>[] = [];
  const progress = new Map<AsteriskChange, Progress>();
  // Reloads run after every write, whatever rank order the guard produced (deletes come after forward changes).
  const writers = plan.changes.filter((c) => c.kind !== 'Reload');
  const reloads = plan.changes.filter((c) => c.kind === 'Reload');
  let broken: Error | undefined;

  const finish = (c: AsteriskChange) => {
    const p = progress.get(c) ?? { writes: 0, open: 0 };
    const applied: Applied<AsteriskPayload> = p.error === undefined ? { change: c, ok: true, writes: p.writes }
      : p.notAttempted && p.writes === 0 ? notAttempted(c, p.error) : { change: c, ok: false, writes: p.writes, error: p.error };
    results.push(applied);
    if (!applied.ok) logger?.warn({ event: 'apply.change.failed', kind: c.kind, name: c.name, error: applied.error }, 'change failed');
    hooks?.onApplied?.(applied, results.length, total);
  };
  const fail = (c: AsteriskChange, message: string) => {
    const p = progress.get(c);
    if (p && p.error === undefined) p.error = message;
  };
  /** The connection was lost before anything of this change was sent. */
  const skip = (c: AsteriskChange, lost: Error) => {
    const p = progress.get(c);
    if (p && p.error === undefined) {
      p.error = lost.message;
      p.notAttempted = true;
    }
  };

  try {
    await client.connect(signal);
  } catch (err) {
    broken = err as Error;
  }

  // Files that do not exist yet: UpdateConfig cannot create them.
  for (const c of writers) {
    progress.set(c, { writes: 0, open: 0 });
    const role = payloadOf(c).createFile;
    if (!role || broken) continue;
    try {
      const r = await client.action('CreateConfig', [['Filename', layout.files[role]]], signal);
      if (r.isError && !/exists/i.test(r.message)) fail(c, `CreateConfig ${layout.files[role]} failed: ${r.message || 'error'}`);
      else progress.get(c)!.writes++;
    } catch (err) {
      if (isConnectionLoss(err)) broken = err as Error;
      else fail(c, describe(err));
    }
  }

  // Units per file, in plan order; a change is complete once all of its units are written.
  const buffers = new Map<FileRole, Unit[]>(FILE_ROLES.map((r) => [r, []]));
  // Marked before the first write to a module's file, so a crash between write and reload still leaves the debt.
  const pendingMarked = new Set<string>();
  const markedHere = new Set<string>();
  const wroteModule = new Set<string>();
  const flush = async (role: FileRole): Promise<void> => {
    const units = buffers.get(role) ?? [];
    buffers.set(role, []);
    if (units.length === 0) return;
    const live = units.filter((u) => progress.get(u.change)?.error === undefined);
    const lostBefore = broken;
    if (!broken && live.length > 0) {
      const module = MODULE_OF[role];
      if (!pendingMarked.has(module)) {
        pendingMarked.add(module);
        if (!deps.isReloadPending(module)) {
          markedHere.add(module);
          await deps.markReloadPending(module);
        }
      }
      await sendUnits(role, live);
    }
    for (const u of units) {
      const p = progress.get(u.change)!;
      // Units of the batch in flight when the connection dropped may have been saved; the others were never sent.
      if (lostBefore) skip(u.change, lostBefore);
      else if (broken) fail(u.change, `not applied: ${broken.message}; the next pass will converge`);
      if (--p.open === 0) finish(u.change);
    }
  };

  /** One UpdateConfig for all units; on an error nothing was saved, so each change is retried alone to find the culprit. */
  const sendUnits = async (role: FileRole, units: readonly Unit[]): Promise<void> => {
    const outcome = await sendBatch(role, units.flatMap((u) => u.groups.flat()));
    if (outcome === 'ok') {
      wroteModule.add(MODULE_OF[role]);
      for (const u of units) progress.get(u.change)!.writes += u.groups.reduce((n, g) => n + g.length, 0);
      return;
    }
    if (outcome === 'lost') return;
    if (units.length === 1) {
      fail(units[0]!.change, `UpdateConfig ${layout.files[role]} failed: ${outcome.error}`);
      return;
    }
    for (const u of units) {
      if (broken) return;
      await sendUnits(role, [u]);
    }
  };

  const sendBatch = async (role: FileRole, ops: readonly ConfigOp[]): Promise<'ok' | 'lost' | { error: string }> => {
    if (broken) return 'lost';
    if (signal.aborted) {
      broken = signal.reason instanceof Error ? signal.reason : new Error('aborted');
      return 'lost';
    }
    try {
      const r = await client.action('UpdateConfig', updateConfigHeaders(layout.files[role], ops), signal);
      return r.isError ? { error: r.message || 'error' } : 'ok';
    } catch (err) {
      if (err instanceof AmiHeaderError) return { error: err.message };
      if (isConnectionLoss(err) || signal.aborted) {
        broken = err as Error;
        return 'lost';
      }
      return { error: describe(err) };
    }
  };

  for (const c of writers) {
    const p = progress.get(c)!;
    const groups = payloadOf(c).groups;
    if (groups.length === 0 || p.error !== undefined || broken) {
      if (broken) skip(c, broken);
      finish(c);
      continue;
    }
    // Keep a change's ops for one file in one message when they fit; otherwise split at group boundaries.
    const units: Unit[] = [];
    for (const role of FILE_ROLES) {
      const gs = groups.filter((g) => g.role === role).map((g) => g.ops);
      for (const part of splitGroups(gs, budget)) units.push({ change: c, role, groups: part, lines: part.reduce((n, g) => n + linesOf(g), 0) });
    }
    if (units.some((u) => u.lines > budget)) {
      fail(c, `a section of ${c.kind}/${c.name} needs more than ${budget} UpdateConfig header lines`);
      finish(c);
      continue;
    }
    p.open = units.length;
    for (const u of units) {
      const buffer = buffers.get(u.role)!;
      if (buffer.reduce((n, b) => n + b.lines, 0) + u.lines > budget) await flush(u.role);
      buffers.get(u.role)!.push(u);
    }
  }
  for (const role of FILE_ROLES) await flush(role);

  // Nothing was saved (every UpdateConfig refused): the debt marked above was never incurred. After a lost
  // connection the last batch may have been saved, so the mark stays.
  if (!broken) for (const m of markedHere) if (!wroteModule.has(m)) await deps.clearReloadPending(m);

  // Reloads: only for modules whose files a change in this plan really wrote, or whose running side differs.
  const wrote = new Set(results.filter((a) => a.writes > 0).map((a) => `${a.change.kind}/${a.change.name}`));
  for (const c of reloads) {
    const spec = payloadOf(c).reload;
    progress.set(c, { writes: 0, open: 0 });
    if (!spec) {
      finish(c);
      continue;
    }
    const needed = spec.always || spec.triggers.some((t) => wrote.has(t));
    if (broken) skip(c, broken);
    else if (needed) {
      try {
        const r = await client.action('Reload', [['Module', spec.module]], signal);
        if (r.isError) fail(c, `Reload ${spec.module} failed: ${r.message || 'error'}`);
        else {
          progress.get(c)!.writes++;
          await deps.clearReloadPending(spec.module);
        }
      } catch (err) {
        if (isConnectionLoss(err)) broken = err as Error;
        fail(c, `Reload ${spec.module} failed: ${describe(err)}`);
      }
    }
    finish(c);
  }
  return results;
}

/** Splits a change's groups for one file into parts that each fit a message (a group is never split). */
const linesOf = (ops: readonly ConfigOp[]) => ops.reduce((n, op) => n + opLines(op), 0);

function splitGroups(groups: ReadonlyArray<readonly ConfigOp[]>, budget: number): Array<Array<readonly ConfigOp[]>> {
  const parts: Array<Array<readonly ConfigOp[]>> = [];
  let current: Array<readonly ConfigOp[]> = [];
  let lines = 0;
  for (const g of groups) {
    const n = linesOf(g);
    if (lines + n > budget && current.length > 0) {
      parts.push(current);
      current = [];
      lines = 0;
    }
    current.push(g);
    lines += n;
  }
  if (current.length > 0) parts.push(current);
  return parts;
}

function isConnectionLoss(err: unknown): boolean {
  return err instanceof TargetUnavailableError;
}

function describe(err: unknown): string {
  if (err instanceof InfrasecError) return err.message;
  return err instanceof Error ? err.message : String(err);
}
