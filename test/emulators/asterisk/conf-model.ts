// In-memory model of an Asterisk ast_config tree (categories, variables, includes) with its lookup and filter rules.
import { astStrsep, strcaseeq } from './c-strings.js';

/** Category names live in a char[80]: longer names are silently truncated to 79 bytes. */
export const MAX_CATEGORY_NAME = 79;

export class ConfVariable {
  object = false;
  inherited = false;
  precomments: string | null = null;
  sameline: string | null = null;
  trailing: string | null = null;

  constructor(
    public name: string,
    public value: string,
    /** '' = the top-level file being loaded; otherwise the path the variable was read from. */
    public file: string,
    public lineno = 0,
  ) {}

  /** variable_clone(): name, value, file, lineno and the object flag; comments are not copied. */
  clone(): ConfVariable {
    const v = new ConfVariable(this.name, this.value, this.file, this.lineno);
    v.object = this.object;
    return v;
  }
}

export interface TemplateInstance {
  name: string;
  /** The category inherited from (a live reference, as in Asterisk). */
  inst: ConfCategory;
}

export class ConfCategory {
  /** Template flag ("ignored" in Asterisk): set by (!) or NewCat Options: template. */
  ignored = false;
  templates: TemplateInstance[] = [];
  precomments: string | null = null;
  sameline: string | null = null;
  trailing: string | null = null;
  vars: ConfVariable[] = [];
  /**
   * Asterisk keeps a separate tail pointer. Insert does not update it, so a later Append links after the stale
   * tail and drops whatever Insert put behind it. `last === null` with a non-empty list reproduces the
   * "Insert at 0 into an empty category" case, where Append then replaces the whole list.
   */
  last: ConfVariable | null = null;
  name: string;

  constructor(
    name: string,
    public file: string,
    public lineno: number,
  ) {
    this.name = name.slice(0, MAX_CATEGORY_NAME);
  }

  rename(name: string): void {
    this.name = name.slice(0, MAX_CATEGORY_NAME);
  }

  /** ast_variable_append() with the tail-pointer semantics described on `last`. */
  append(v: ConfVariable): void {
    if (this.last === null) {
      this.vars = [v];
    } else {
      const idx = this.vars.indexOf(this.last);
      this.vars = idx < 0 ? [...this.vars, v] : [...this.vars.slice(0, idx + 1), v];
    }
    this.last = v;
  }

  /** Append a whole chain (move_variables for `(+)` sections). */
  appendAll(list: ConfVariable[]): void {
    for (const v of list) this.append(v);
  }

  /** ast_category_empty(): all variables (own and inherited copies) go; header and template list stay. */
  empty(): void {
    this.vars = [];
    this.last = null;
  }
}

export interface ConfInclude {
  /** '' when the directive is in the top-level file, else the absolute path of the file containing it. */
  locationFile: string;
  locationLine: number;
  exec: boolean;
  tryInclude: boolean;
  /** The argument as written (dequoted), or the `name~~N` alias of a file included more than once. */
  includedFile: string;
  /** True when the target existed when loading (a #tryinclude of a missing file is not rewritten). */
  found: boolean;
  output: boolean;
}

export class ConfTree {
  categories: ConfCategory[] = [];
  includes: ConfInclude[] = [];
  current: ConfCategory | null = null;
  includeLevel = 0;
  readonly maxIncludeLevel = 10;

  append(cat: ConfCategory): void {
    this.categories.push(cat);
    this.current = cat;
  }
}

/** ast_category_inherit(): record the template instance and append inherited copies of its variables. */
export function inheritCategory(child: ConfCategory, base: ConfCategory): void {
  child.templates.push({ name: base.name, inst: base });
  for (const v of base.vars) {
    const c = v.clone();
    c.inherited = true;
    child.append(c);
  }
}

/** Compile a POSIX ERE (approximated by a JS RegExp); null when it does not compile. */
function compileRegex(src: string): RegExp | null {
  try {
    return new RegExp(src);
  } catch {
    return null;
  }
}

/**
 * does_category_match(): optional exact (case-insensitive) name, then a filter of `sep`-separated
 * `name_regex=value_regex` expressions (all must hold, unanchored). `TEMPLATES=include|restrict` controls templates;
 * an expression without `=` makes the filter match nothing; an uncompilable regex makes the category not match.
 */
export function categoryMatches(cat: ConfCategory, name: string | null, filter: string | null, sep = ','): boolean {
  if (name && !strcaseeq(cat.name, name)) return false;
  if (!filter) return !cat.ignored;
  const cursor = { rest: filter as string | null };
  let found = 0;
  let expressions = 0;
  let templateOk = false;
  let nvp: string | null;
  while ((nvp = astStrsep(cursor, sep)) !== null) {
    expressions++;
    const inner = { rest: nvp as string | null };
    const matchName = astStrsep(inner, '=');
    const matchValue = astStrsep(inner, '=');
    if (matchName === null || matchValue === null) break;
    if (matchName === 'TEMPLATES') {
      if (strcaseeq('include', matchValue)) {
        if (cat.ignored) templateOk = true;
        found++;
      } else if (strcaseeq('restrict', matchValue)) {
        if (cat.ignored) {
          found++;
          templateOk = true;
        } else {
          break;
        }
      }
      continue;
    }
    const rn = compileRegex(matchName);
    const rv = compileRegex(matchValue);
    if (!rn || !rv) return false;
    for (const v of cat.vars) {
      if (rn.test(v.name) && rv.test(v.value)) {
        found++;
        break;
      }
    }
  }
  return found === expressions && (!cat.ignored || templateOk);
}

/** category_get_sep(): first category with that name passing the filter. */
export function categoryGet(tree: ConfTree, name: string, filter: string | null, sep = ','): ConfCategory | null {
  for (const cat of tree.categories) {
    if (categoryMatches(cat, name, filter, sep)) return cat;
  }
  return null;
}

/** ast_category_browse_filtered() as a snapshot list. */
export function browseFiltered(tree: ConfTree, name: string | null, filter: string | null): ConfCategory[] {
  return tree.categories.filter((c) => categoryMatches(c, name, filter, ','));
}
