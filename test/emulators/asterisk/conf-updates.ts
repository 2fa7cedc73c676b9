// Applies the numbered UpdateConfig operations (NewCat, RenameCat, DelCat, EmptyCat, Update, Delete, Append, Insert).
import { astStrsep, scanInt, strcaseeq } from './c-strings.js';
import { ConfCategory, ConfTree, ConfVariable, categoryGet, categoryMatches, inheritCategory } from './conf-model.js';

export type UpdateError =
  | 'UNKNOWN_ACTION'
  | 'UNKNOWN_CATEGORY'
  | 'UNSPECIFIED_CATEGORY'
  | 'UNSPECIFIED_ARGUMENT'
  | 'FAILURE_NEWCAT'
  | 'FAILURE_UPDATE'
  | 'FAILURE_TEMPLATE'
  | 'EMULATED_CRASH';

/** The Message text action_updateconfig sends for each failure. */
export const UPDATE_ERROR_TEXT: Record<UpdateError, string> = {
  UNKNOWN_ACTION: 'Unknown action command',
  UNKNOWN_CATEGORY: 'Given category does not exist',
  UNSPECIFIED_CATEGORY: 'Category not specified',
  UNSPECIFIED_ARGUMENT: 'Problem with category, value, or line (if required)',
  FAILURE_NEWCAT: 'Create category did not complete successfully',
  FAILURE_UPDATE: 'Update did not complete successfully',
  FAILURE_TEMPLATE: 'Template category not found',
  // Not an Asterisk text: real Asterisk dereferences a NULL pointer here and the whole process dies.
  EMULATED_CRASH: 'Emulator: this Insert crashes a real Asterisk (NULL pointer dereference); refused',
};

/** Header lookup used by the operations: first match, '' when absent (astman_get_header). */
export type HeaderGetter = (name: string) => string;

interface Options {
  allowdups: boolean;
  template: boolean;
  ignoreerror: boolean;
  inherit: string | null;
  catfilter: string | null;
}

/** Options-NNNNNN parsing: quote-aware comma list; for inherit=/catfilter= the value is cut at the next '='. */
function parseOptions(options: string): Options {
  const o: Options = { allowdups: false, template: false, ignoreerror: false, inherit: null, catfilter: null };
  if (!options) return o;
  const cursor = { rest: options as string | null };
  let token: string | null;
  while ((token = astStrsep(cursor, ',')) !== null) {
    if (strcaseeq(token, 'allowdups')) o.allowdups = true;
    else if (strcaseeq(token, 'template')) o.template = true;
    else if (strcaseeq(token, 'ignoreerror')) o.ignoreerror = true;
    else if (token.startsWith('inherit') || token.startsWith('catfilter')) {
      const inner = { rest: token as string | null };
      astStrsep(inner, '=');
      const value = astStrsep(inner, '=');
      if (value !== null) {
        if (token.startsWith('inherit')) o.inherit = value;
        else o.catfilter = value;
      }
    }
  }
  return o;
}

function selected(cfg: ConfTree, cat: string, filter: string | null): ConfCategory[] {
  return cfg.categories.filter((c) => categoryMatches(c, cat, filter));
}

/** ast_variable_update(): replace the last variable named `name` (whose value equals `match`, if given). */
function variableUpdate(cat: ConfCategory, name: string, value: string, match: string, object: boolean): boolean {
  let target: ConfVariable | null = null;
  for (const v of cat.vars) {
    if (!strcaseeq(v.name, name)) continue;
    if (match && !strcaseeq(v.value, match)) continue;
    target = v;
  }
  if (!target) return false;
  const newer = new ConfVariable(name, value, target.file, target.lineno);
  newer.object = target.object || object;
  newer.precomments = target.precomments;
  newer.sameline = target.sameline;
  newer.trailing = target.trailing;
  const idx = cat.vars.indexOf(target);
  cat.vars[idx] = newer;
  if (cat.last === target) cat.last = newer;
  return true;
}

/** ast_variable_delete(): by 0-based item number (Line) or every variable named `name` (value == match if given). */
function variableDelete(cat: ConfCategory, name: string, match: string, line: string): boolean {
  let req = -1;
  if (line) {
    const n = scanInt(line);
    if (n === null || n < 0) return false;
    req = n;
  }
  let deleted = false;
  const kept: ConfVariable[] = [];
  let prev: ConfVariable | null = null;
  cat.vars.forEach((v, i) => {
    const hit =
      (req >= 0 && i === req) ||
      (req < 0 && strcaseeq(v.name, name) && (!match || strcaseeq(v.value, match)));
    if (hit) {
      if (cat.last === v) cat.last = prev;
      deleted = true;
    } else {
      kept.push(v);
      prev = v;
    }
  });
  cat.vars = kept;
  return deleted;
}

/** ast_variable_insert(): returns 'crash' where Asterisk dereferences NULL. Does not move the tail pointer. */
function variableInsert(cat: ConfCategory, v: ConfVariable, line: string): 'ok' | 'crash' {
  const insertline = scanInt(line);
  if (insertline === null) return 'ok'; // sscanf failed: the variable is silently dropped
  if (insertline === 0) {
    cat.vars = [v, ...cat.vars];
    return 'ok';
  }
  if (cat.vars.length === 0) return 'crash';
  let cur = 0;
  for (let lineno = 1; lineno < insertline; lineno++) {
    cur++;
    if (cur >= cat.vars.length) return 'crash';
    if (cur === cat.vars.length - 1) break;
  }
  cat.vars = [...cat.vars.slice(0, cur + 1), v, ...cat.vars.slice(cur + 1)];
  return 'ok';
}

/** handle_updates(): run Action-000000.. in order on `cfg`; stops at the first gap. Returns null on success. */
export function applyUpdates(get: HeaderGetter, cfg: ConfTree, dfn: string): UpdateError | null {
  for (let x = 0; x < 100000; x++) {
    const n = String(x).padStart(6, '0');
    const action = get(`Action-${n}`);
    if (!action) break;
    const cat = get(`Cat-${n}`);
    if (!cat) return 'UNSPECIFIED_CATEGORY';
    const variable = get(`Var-${n}`);
    let value = get(`Value-${n}`);
    let object = false;
    if (value && value[0] === '>') {
      object = true;
      value = value.slice(1);
    }
    const match = get(`Match-${n}`);
    const line = get(`Line-${n}`);
    const opts = parseOptions(get(`Options-${n}`));

    if (strcaseeq(action, 'newcat')) {
      if (!opts.allowdups && categoryGet(cfg, cat, 'TEMPLATES=include')) {
        if (opts.ignoreerror) continue;
        return 'FAILURE_NEWCAT';
      }
      const category = new ConfCategory(cat, dfn, -1);
      category.ignored = opts.template;
      if (opts.inherit !== null) {
        const cursor = { rest: opts.inherit as string | null };
        let tmpl: string | null;
        while ((tmpl = astStrsep(cursor, ',')) !== null) {
          const base = categoryGet(cfg, tmpl, 'TEMPLATES=restrict');
          if (!base) return 'FAILURE_TEMPLATE';
          inheritCategory(category, base);
        }
      }
      if (!match) {
        cfg.categories.push(category);
      } else {
        const idx = cfg.categories.findIndex((c) => strcaseeq(c.name, match));
        if (idx < 0) return 'FAILURE_NEWCAT';
        cfg.categories.splice(idx, 0, category);
      }
    } else if (strcaseeq(action, 'renamecat')) {
      if (!value) return 'UNSPECIFIED_ARGUMENT';
      const cats = selected(cfg, cat, opts.catfilter);
      if (cats.length === 0) return 'UNKNOWN_CATEGORY';
      for (const c of cats) c.rename(value);
    } else if (strcaseeq(action, 'delcat')) {
      const cats = selected(cfg, cat, opts.catfilter);
      if (cats.length === 0 && !opts.ignoreerror) return 'UNKNOWN_CATEGORY';
      cfg.categories = cfg.categories.filter((c) => !cats.includes(c));
    } else if (strcaseeq(action, 'emptycat')) {
      const cats = selected(cfg, cat, opts.catfilter);
      if (cats.length === 0) return 'UNKNOWN_CATEGORY';
      for (const c of cats) c.empty();
    } else if (strcaseeq(action, 'update')) {
      if (!variable) return 'UNSPECIFIED_ARGUMENT';
      const cats = selected(cfg, cat, opts.catfilter);
      let foundvar = false;
      for (const c of cats) if (variableUpdate(c, variable, value, match, object)) foundvar = true;
      if (cats.length === 0) return 'UNKNOWN_CATEGORY';
      if (!foundvar) return 'FAILURE_UPDATE';
    } else if (strcaseeq(action, 'delete')) {
      if (!variable && !line) return 'UNSPECIFIED_ARGUMENT';
      const cats = selected(cfg, cat, opts.catfilter);
      let foundvar = false;
      for (const c of cats) if (variableDelete(c, variable, match, line)) foundvar = true;
      if (cats.length === 0) return 'UNKNOWN_CATEGORY';
      if (!foundvar && !opts.ignoreerror) return 'FAILURE_UPDATE';
    } else if (strcaseeq(action, 'append')) {
      if (!variable) return 'UNSPECIFIED_ARGUMENT';
      const cats = selected(cfg, cat, opts.catfilter);
      if (cats.length === 0) return 'UNKNOWN_CATEGORY';
      for (const c of cats) {
        const v = new ConfVariable(variable, value, dfn, 0);
        if (object || strcaseeq(match, 'object')) v.object = true;
        c.append(v);
      }
    } else if (strcaseeq(action, 'insert')) {
      if (!variable || !line) return 'UNSPECIFIED_ARGUMENT';
      const cats = selected(cfg, cat, opts.catfilter);
      if (cats.length === 0) return 'UNKNOWN_CATEGORY';
      for (const c of cats) {
        if (variableInsert(c, new ConfVariable(variable, value, dfn, 0), line) === 'crash') return 'EMULATED_CRASH';
      }
    } else {
      return 'UNKNOWN_ACTION';
    }
  }
  return null;
}

/** ast_include_rename(): when SrcFilename != DstFilename, move everything tagged with the source name. */
export function includeRename(cfg: ConfTree, from: string, to: string): void {
  if (from === to) return;
  for (const inc of cfg.includes) if (inc.locationFile === from) inc.locationFile = to;
  for (const c of cfg.categories) {
    if (c.file === from) c.file = to;
    for (const v of c.vars) if (v.file === from) v.file = to;
  }
}
