// The "running" pbx_config dialplan: contexts/extensions from extensions.conf, as of the last dialplan reload.
import * as path from 'node:path';
import { asciiLower, astStrip, strcaseeq } from './c-strings.js';
import type { ConfTree } from './conf-model.js';
import { loadConfig } from './conf-parser.js';

export interface Priority {
  priority: number;
  label: string;
  app: string;
  data: string;
  file: string;
  lineno: number;
}

export interface Extension {
  name: string;
  priorities: Priority[];
  /** `exten => N,hint,PJSIP/N`: priority PRIORITY_HINT, listed before priority 1, never run by a call. */
  hint?: { app: string; file: string; lineno: number };
}

export interface DialplanContext {
  name: string;
  extensions: Extension[];
  includes: string[];
}

function parseApp(s: string): { app: string; data: string } {
  const t = astStrip(s);
  const open = t.indexOf('(');
  if (open < 0) return { app: t, data: '' };
  const close = t.lastIndexOf(')');
  return { app: t.slice(0, open), data: t.slice(open + 1, close > open ? close : undefined) };
}

/** Extension pattern matching (_X, _Z, _N, [..], '.', '!'); a name without '_' must match exactly. */
export function extensionMatches(pattern: string, exten: string): boolean {
  if (!pattern.startsWith('_')) return pattern === exten;
  let re = '';
  const p = pattern.slice(1);
  for (let i = 0; i < p.length; i++) {
    const c = p[i] as string;
    const u = c.toUpperCase();
    if (u === 'X') re += '[0-9]';
    else if (u === 'Z') re += '[1-9]';
    else if (u === 'N') re += '[2-9]';
    else if (c === '.') re += '.+';
    else if (c === '!') re += '.*';
    else if (c === '[') {
      const close = p.indexOf(']', i);
      re += close < 0 ? '\\[' : `[${p.slice(i + 1, close)}]`;
      if (close >= 0) i = close;
    } else re += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`).test(exten);
}

export class DialplanRuntime {
  private contexts = new Map<string, DialplanContext>();
  loadedTree: ConfTree | null = null;

  constructor(private readonly configDir: string) {}

  /** pbx_load_module(): a file that cannot be loaded leaves the current dialplan in place and fails the reload. */
  reload(): number {
    const tree = loadConfig(this.configDir, 'extensions.conf');
    if (tree === 'invalid' || tree === 'missing') return 3;
    const contexts = new Map<string, DialplanContext>();
    for (const cat of tree.categories) {
      if (cat.ignored) continue;
      if (strcaseeq(cat.name, 'general') || strcaseeq(cat.name, 'globals')) continue;
      let ctx = contexts.get(cat.name);
      if (!ctx) {
        ctx = { name: cat.name, extensions: [], includes: [] };
        contexts.set(cat.name, ctx);
      }
      let lastExten: Extension | null = null;
      let lastPrio = 0;
      for (const v of cat.vars) {
        const name = asciiLower(v.name);
        if (name === 'include') {
          ctx.includes.push(astStrip(v.value));
          continue;
        }
        if (name !== 'exten' && name !== 'same') continue;
        const parts = v.value.split(',');
        let ext: Extension | null;
        if (name === 'exten') {
          const extName = astStrip(parts.shift() ?? '');
          ext = ctx.extensions.find((e) => e.name === extName) ?? null;
          if (!ext) {
            ext = { name: extName, priorities: [] };
            ctx.extensions.push(ext);
          }
        } else {
          ext = lastExten;
          if (!ext) continue;
        }
        let prioText = astStrip(parts.shift() ?? '');
        let label = '';
        const lm = /^(.*)\((.*)\)$/.exec(prioText);
        if (lm) {
          prioText = lm[1] ?? '';
          label = lm[2] ?? '';
        }
        if (asciiLower(prioText) === 'hint') {
          ext.hint ??= { app: astStrip(parts.join(',')), file: v.file, lineno: v.lineno };
          continue;
        }
        let prio: number;
        if (asciiLower(prioText) === 'n') prio = ext === lastExten ? lastPrio + 1 : 1;
        else prio = Number.parseInt(prioText, 10);
        if (!Number.isFinite(prio)) continue;
        const { app, data } = parseApp(parts.join(','));
        if (!ext.priorities.some((p) => p.priority === prio)) {
          ext.priorities.push({ priority: prio, label, app, data, file: v.file, lineno: v.lineno });
          ext.priorities.sort((a, b) => a.priority - b.priority);
        }
        lastExten = ext;
        lastPrio = prio;
      }
    }
    this.contexts = contexts;
    this.loadedTree = tree;
    return 0;
  }

  context(name: string): DialplanContext | undefined {
    return this.contexts.get(name);
  }

  /** ast_walk_contexts(): a new context is linked at the head of the list, so the walk runs newest first. */
  walkContexts(): DialplanContext[] {
    return [...this.contexts.values()].reverse();
  }

  /** Find the extension a call to `exten`@`context` would run (exact names first, then patterns, then includes). */
  find(context: string, exten: string, seen = new Set<string>()): Extension | undefined {
    const ctx = this.contexts.get(context);
    if (!ctx || seen.has(context)) return undefined;
    seen.add(context);
    const exact = ctx.extensions.find((e) => e.name === exten);
    if (exact) return exact;
    const pat = ctx.extensions.find((e) => extensionMatches(e.name, exten));
    if (pat) return pat;
    for (const inc of ctx.includes) {
      const found = this.find(inc, exten, seen);
      if (found) return found;
    }
    return undefined;
  }

  /** `dialplan show [exten@]context` (column layout taken from real outputs; includes are followed for exten@context). */
  cliShow(arg: string): { ok: boolean; text: string } {
    let exten: string | null = null;
    let context = arg;
    const at = arg.indexOf('@');
    if (at >= 0) {
      exten = arg.slice(0, at);
      context = arg.slice(at + 1);
    }
    if (context && !this.contexts.has(context)) return { ok: false, text: `There is no existence of '${context}' context\n` };
    const blocks: string[] = [];
    let extCount = 0;
    let prioCount = 0;
    let ctxCount = 0;
    const seen = new Set<string>();
    const show = (ctx: DialplanContext, included: boolean) => {
      if (seen.has(ctx.name)) return;
      seen.add(ctx.name);
      const exts = exten === null ? ctx.extensions : ctx.extensions.filter((e) => extensionMatches(e.name, exten as string));
      if (exten !== null && exts.length === 0 && included) {
        for (const inc of ctx.includes) {
          const c = this.contexts.get(inc);
          if (c) show(c, true);
        }
        return;
      }
      ctxCount++;
      let out = `[ ${included ? 'Included context' : 'Context'} '${ctx.name}' created by 'pbx_config' ]\n`;
      for (const e of exts) {
        extCount++;
        e.priorities.forEach((p, i) => {
          prioCount++;
          const body = `${p.priority}. ${p.app}(${p.data})`.padEnd(45);
          const where = `[${path.basename(p.file || 'extensions.conf')}:${p.lineno}]`;
          if (i === 0) out += `  ${`'${e.name}' =>`.padEnd(17)} ${body} ${where}\n`;
          else if (p.label) out += `     ${`[${p.label}]`.padEnd(14)} ${body} ${where}\n`;
          else out += `  ${''.padEnd(17)} ${body} ${where}\n`;
        });
      }
      for (const inc of ctx.includes) out += `  Include =>        ${`'${inc}'`.padEnd(45)} [pbx_config]\n`;
      blocks.push(out);
      if (exten !== null) {
        for (const inc of ctx.includes) {
          const c = this.contexts.get(inc);
          if (c) show(c, true);
        }
      }
    };
    if (context) show(this.contexts.get(context) as DialplanContext, false);
    else for (const c of this.contexts.values()) show(c, false);
    if (exten !== null && extCount === 0) return { ok: false, text: `There is no existence of ${exten}@${context} extension\n` };
    const plural = (n: number, one: string, many: string) => (n === 1 ? one : many);
    const footer = `-= ${extCount} ${plural(extCount, 'extension', 'extensions')} (${prioCount} ${plural(prioCount, 'priority', 'priorities')}) in ${ctxCount} ${plural(ctxCount, 'context', 'contexts')}. =-\n`;
    return { ok: true, text: blocks.join('\n') + footer };
  }
}
