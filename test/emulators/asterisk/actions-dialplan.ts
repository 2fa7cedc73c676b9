// ShowDialPlan: the running dialplan as ListDialplan events, a port of manager_show_dialplan() in main/pbx.c.
import type { ActionContext, ActionDefinition } from './action-types.js';
import { EVENT_FLAG } from './permissions.js';
import { Reply, getHeader, type AmiMessage } from './protocol.js';
import { extensionMatches, type DialplanContext, type DialplanRuntime } from './runtime-dialplan.js';

/** AST_PBX_MAX_STACK */
const MAX_STACK = 128;

interface Counters {
  contextExistence: boolean;
  extensionExistence: boolean;
  totalContext: number;
  totalExten: number;
  totalPrio: number;
  totalItems: number;
}

/**
 * manager_show_dialplan_helper(): every context named `context` (or all), its extensions matching `exten` with
 * one event per priority (the hint first, as PRIORITY_HINT sorts first); with `exten`, includes are followed
 * (each at most once per path), otherwise each include is one IncludeContext event. Switches and ignore
 * patterns are not modelled (pbx_config files here have none).
 */
function helper(dialplan: DialplanRuntime, out: Reply, m: AmiMessage, context: string | null, exten: string | null, dpc: Counters, includes: string[]): void {
  const ack = () => {
    if (dpc.totalItems++ === 0) out.raw(Reply.listAck(m, 'DialPlan list will follow').toString());
  };
  for (const c of dialplan.walkContexts()) {
    if (context !== null && c.name !== context) continue;
    dpc.contextExistence = true;
    dpc.totalContext++;
    for (const e of c.extensions) {
      if (exten !== null && !extensionMatches(e.name, exten)) continue;
      dpc.extensionExistence = true;
      dpc.totalExten++;
      const item = (fields: Array<[string, string | number]>) => {
        dpc.totalPrio++;
        ack();
        out.event(m, 'ListDialplan', [['Context', c.name], ['Extension', e.name], ...fields, ['Registrar', 'pbx_config']]);
      };
      if (e.hint) item([['Priority', 'hint'], ['Application', e.hint.app]]);
      for (const p of e.priorities) item([...(p.label ? [['ExtensionLabel', p.label] as [string, string]] : []), ['Priority', p.priority], ['Application', p.app], ['AppData', p.data]]);
    }
    includeEvents(dialplan, out, m, c, exten, dpc, includes, ack);
  }
}

function includeEvents(dialplan: DialplanRuntime, out: Reply, m: AmiMessage, c: DialplanContext, exten: string | null, dpc: Counters, includes: string[], ack: () => void): void {
  for (const inc of c.includes) {
    if (exten !== null) {
      if (includes.length >= MAX_STACK) continue;
      if (includes.some((x) => x.toLowerCase() === inc.toLowerCase())) continue;
      helper(dialplan, out, m, inc, exten, dpc, [...includes, inc]);
    } else {
      ack();
      out.event(m, 'ListDialplan', [['Context', c.name], ['IncludeContext', inc], ['Registrar', 'pbx_config']]);
    }
  }
}

function showDialPlan(ctx: ActionContext, m: AmiMessage): void {
  const exten = getHeader(m, 'Extension') || null;
  const context = getHeader(m, 'Context') || null;
  const dpc: Counters = { contextExistence: false, extensionExistence: false, totalContext: 0, totalExten: 0, totalPrio: 0, totalItems: 0 };
  const out = new Reply();
  helper(ctx.server.runtime.dialplan, out, m, context, exten, dpc, []);
  // Asterisk sends the error after whatever the walk already wrote.
  if (context !== null && !dpc.contextExistence) return ctx.write(out.toString() + Reply.error(m, `Did not find context ${context}`).toString());
  if (exten !== null && !dpc.extensionExistence) {
    const text = context !== null ? `Did not find extension ${exten}@${context}` : `Did not find extension ${exten} in any context`;
    return ctx.write(out.toString() + Reply.error(m, text).toString());
  }
  if (dpc.totalItems === 0) out.raw(Reply.listAck(m, 'DialPlan list will follow').toString());
  out.listComplete(m, 'ShowDialPlanComplete', dpc.totalItems, [
    ['ListExtensions', dpc.totalExten],
    ['ListPriorities', dpc.totalPrio],
    ['ListContexts', dpc.totalContext],
  ]);
  ctx.write(out.toString());
}

export const dialplanActions: ActionDefinition[] = [{ name: 'ShowDialPlan', authority: EVENT_FLAG.config | EVENT_FLAG.reporting, handler: showDialPlan }];
