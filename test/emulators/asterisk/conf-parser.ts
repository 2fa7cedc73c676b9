// Loads .conf files the way main/config.c does: comments, #include/#tryinclude, templates, (+) sections, `=>`.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { astStrip, strcaseeq } from './c-strings.js';
import { ConfCategory, ConfTree, ConfVariable, categoryGet, inheritCategory } from './conf-model.js';

export type LoadResult = ConfTree | 'missing' | 'invalid';

export interface LoadOptions {
  /** CONFIG_FLAG_WITHCOMMENTS: keep comments so that a rewrite can restore them. */
  withComments?: boolean;
  /** Parse warnings/errors Asterisk would log; collected for debugging. */
  log?: string[];
}

type FileResult = 'ok' | 'missing' | 'invalid';

interface Ctx {
  configDir: string;
  withComments: boolean;
  log: string[];
}

/** ast_config_load2(filename): a fresh tree, 'missing' (no file matched) or 'invalid' (parse error). */
export function loadConfig(configDir: string, filename: string, opts: LoadOptions = {}): LoadResult {
  const ctx: Ctx = { configDir, withComments: opts.withComments ?? false, log: opts.log ?? [] };
  const tree = new ConfTree();
  const r = internalLoad(ctx, filename, tree, '');
  if (r === 'ok') return tree;
  return r;
}

function internalLoad(ctx: Ctx, filename: string, cfg: ConfTree, suggested: string): FileResult {
  if (cfg.maxIncludeLevel > 0 && cfg.includeLevel === cfg.maxIncludeLevel + 1) {
    ctx.log.push(`Maximum Include level (${cfg.maxIncludeLevel}) exceeded`);
    return 'missing';
  }
  cfg.includeLevel++;
  const r = textFileLoad(ctx, filename, cfg, suggested);
  // As in ast_config_internal_load(): the level is not restored after an invalid file.
  if (r !== 'invalid') cfg.includeLevel--;
  return r;
}

function hasGlobMagic(p: string): boolean {
  return /[*?[{]/.test(p);
}

function globToRegex(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const close = pattern.indexOf(']', i + 1);
      if (close < 0) re += '\\[';
      else {
        let body = pattern.slice(i + 1, close);
        if (body.startsWith('!')) body = '^' + body.slice(1);
        re += '[' + body.replace(/\\/g, '\\\\') + ']';
        i = close;
      }
    } else if (c === '{') {
      const close = pattern.indexOf('}', i + 1);
      if (close < 0) re += '\\{';
      else {
        const alts = pattern.slice(i + 1, close).split(',').map((a) => a.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
        re += '(?:' + alts.join('|') + ')';
        i = close;
      }
    } else re += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp('^' + re + '$', 's');
}

/** glob(fn, GLOB_NOMAGIC|GLOB_BRACE): sorted matches; a pattern without magic characters is returned as is. */
function globExpand(fn: string): string[] {
  if (!hasGlobMagic(fn)) return [fn];
  const dir = path.dirname(fn);
  const base = path.basename(fn);
  if (hasGlobMagic(dir)) return [];
  let names: string[];
  try {
    names = fs.readdirSync(Buffer.from(dir, 'latin1'), { encoding: 'latin1' });
  } catch {
    return [];
  }
  const re = globToRegex(base);
  return names
    .filter((n) => !n.startsWith('.') && re.test(n))
    .sort()
    .map((n) => `${dir}/${n}`);
}

/** fgets(buf, 8192) over the whole file: chunks of at most 8191 bytes, each ending at (and including) '\n'. */
function* fgetsChunks(content: string): Generator<string> {
  let pos = 0;
  while (pos < content.length) {
    const nl = content.indexOf('\n', pos);
    const lineEnd = nl < 0 ? content.length : nl + 1;
    const end = Math.min(lineEnd, pos + 8191);
    yield content.slice(pos, end);
    pos = end;
  }
}

/** strchr over a NUL-terminated char array, starting at `from`. */
function strchr(buf: string[], from: number, ch: string): number {
  for (let i = from; i < buf.length; i++) {
    if (buf[i] === '\0') return -1;
    if (buf[i] === ch) return i;
  }
  return -1;
}

/** The C string starting at `from` (up to the first NUL). */
function cstr(buf: string[], from: number): string {
  let out = '';
  for (let i = from; i < buf.length; i++) {
    if (buf[i] === '\0') break;
    out += buf[i];
  }
  return out;
}

interface FileState {
  commentBuffer: string;
  llineBuffer: string;
  lastCat: ConfCategory | null;
  lastVar: ConfVariable | null;
}

function textFileLoad(ctx: Ctx, filename: string, cfg: ConfTree, suggested: string): FileResult {
  let cat: ConfCategory | null = cfg.current;
  const fnPattern = filename.startsWith('/') ? filename : `${ctx.configDir}/${filename}`;
  let count = 0;
  for (const fn of globExpand(fnPattern)) {
    let st: fs.Stats;
    try {
      st = fs.statSync(Buffer.from(fn, 'latin1'));
    } catch {
      continue;
    }
    if (!st.isFile()) {
      ctx.log.push(`'${fn}' is not a regular file, ignoring`);
      continue;
    }
    let content: string;
    try {
      content = fs.readFileSync(Buffer.from(fn, 'latin1'), 'latin1');
    } catch {
      continue;
    }
    count++;
    const state: FileState = { commentBuffer: '', llineBuffer: '', lastCat: null, lastVar: null };
    let lineno = 0;
    let comment = 0;
    const nest: number[] = [];
    const chunks = fgetsChunks(content);
    for (let next = chunks.next(); !next.done; next = chunks.next()) {
      let chunk = next.value;
      lineno++;
      if (chunk.length === 8191) {
        // "Line too long, skipping": this chunk and every following full-size chunk, plus the next short one.
        ctx.log.push(`Line ${lineno} too long, skipping`);
        for (let more = chunks.next(); !more.done; more = chunks.next()) {
          if (more.value.length !== 8191) break;
        }
        continue;
      }
      if (lineno === 1 && chunk.startsWith('\xef\xbb\xbf')) chunk = chunk.slice(3);
      if (ctx.withComments && state.llineBuffer) {
        state.commentBuffer += state.llineBuffer;
        state.llineBuffer = '';
      }
      const buf = chunk.split('');
      let processStart: number | null = comment ? null : 0;
      if (ctx.withComments && state.commentBuffer && /^[ \t\n\r]*$/.test(chunk)) {
        state.commentBuffer += '\n';
        continue;
      }
      let scan = 0;
      for (let p = strchr(buf, scan, ';'); p >= 0; p = strchr(buf, scan, ';')) {
        if (p > scan && buf[p - 1] === '\\') {
          // Escaped semicolon: drop the backslash, keep the ';'.
          buf.splice(p - 1, 1);
          scan = p;
        } else if (buf[p + 1] === '-' && buf[p + 2] === '-' && buf[p + 3] !== '-') {
          if (comment < 128) {
            buf[p] = '\0';
            scan = p + 3;
            comment++;
            nest[comment - 1] = lineno;
          } else {
            ctx.log.push('Maximum nest limit of 128 reached.');
            scan = p + 1;
          }
        } else if (p >= scan + 2 && buf[p - 1] === '-' && buf[p - 2] === '-') {
          comment--;
          scan = p + 1;
          if (!comment) {
            if (processStart !== null) {
              const oldptr = processStart + cstr(buf, processStart).length;
              if (ctx.withComments) {
                state.commentBuffer += ';' + buf.slice(oldptr + 1, scan).join('').split('\0')[0];
              }
              const rest = cstr(buf, scan);
              buf.splice(oldptr, buf.length - oldptr, ...rest.split(''), '\0');
              scan = oldptr;
            } else {
              processStart = scan;
            }
          }
        } else if (!comment) {
          if (ctx.withComments) state.llineBuffer += cstr(buf, p);
          buf[p] = '\0';
          scan = p;
        } else {
          scan = p + 1;
        }
      }
      if (ctx.withComments && comment && processStart === null) {
        state.commentBuffer += cstr(buf, 0);
      }
      if (processStart !== null) {
        const line = astStrip(cstr(buf, processStart));
        if (line) {
          const holder = { cat };
          const r = processTextLine(ctx, cfg, holder, line, lineno, fn, suggested, state);
          cat = holder.cat;
          if (r) return 'invalid';
        }
      }
    }
    // End of file: attach what is left in the comment buffer.
    if (ctx.withComments && state.commentBuffer) {
      const text = state.commentBuffer + state.llineBuffer;
      if (state.lastCat) state.lastCat.trailing = text;
      else if (state.lastVar) state.lastVar.trailing = text;
    }
    if (comment) ctx.log.push(`Unterminated comment detected beginning on line ${nest[comment - 1]}`);
  }
  return count === 0 ? 'missing' : 'ok';
}

function takeComments(ctx: Ctx, state: FileState): { pre: string | null; same: string | null } {
  if (!ctx.withComments) return { pre: null, same: null };
  const pre = state.commentBuffer || null;
  const same = state.llineBuffer || null;
  state.commentBuffer = '';
  state.llineBuffer = '';
  return { pre, same };
}

function processTextLine(
  ctx: Ctx,
  cfg: ConfTree,
  holder: { cat: ConfCategory | null },
  line: string,
  lineno: number,
  configfile: string,
  suggested: string,
  state: FileState,
): number {
  const fileTag = suggested || (cfg.includeLevel === 1 ? '' : configfile);
  if (line[0] === '[') {
    const close = line.indexOf(']');
    if (close < 0) {
      ctx.log.push(`parse error: no closing ']', line ${lineno} of ${configfile}`);
      return -1;
    }
    const catname = line.slice(1, close);
    const hasOptions = line[close + 1] === '(';
    let newcat: ConfCategory | null = new ConfCategory(catname, fileTag, lineno);
    holder.cat = newcat;
    state.lastVar = null;
    state.lastCat = newcat;
    const c = takeComments(ctx, state);
    newcat.precomments = c.pre;
    newcat.sameline = c.same;
    if (hasOptions) {
      const optStart = close + 2;
      const optEnd = line.indexOf(')', optStart);
      if (optEnd < 0) {
        ctx.log.push(`parse error: no closing ')', line ${lineno} of ${configfile}`);
        return -1;
      }
      for (const cur of line.slice(optStart, optEnd).split(',')) {
        if (cur === '!') {
          (holder.cat as ConfCategory).ignored = true;
        } else if (cur[0] === '+') {
          const target = categoryGet(cfg, catname, cur.slice(1), '&');
          if (!target) {
            ctx.log.push(`Category addition requested, but category '${catname}' does not exist, line ${lineno} of ${configfile}`);
            return -1;
          }
          holder.cat = target;
          if (newcat) {
            cfg.current = target;
            target.ignored = target.ignored || newcat.ignored;
            target.appendAll(newcat.vars);
            newcat = null;
          }
        } else {
          const base = categoryGet(cfg, cur, 'TEMPLATES=include');
          if (!base) {
            ctx.log.push(`Inheritance requested, but category '${cur}' does not exist, line ${lineno} of ${configfile}`);
            return -1;
          }
          inheritCategory(holder.cat as ConfCategory, base);
        }
      }
    }
    if (newcat) cfg.append(newcat);
    return 0;
  }

  if (line[0] === '#') {
    let i = 1;
    while (i < line.length && line.charCodeAt(i) > 32) i++;
    const directive = line.slice(1, i);
    let arg: string | null = i < line.length ? astStrip(line.slice(i + 1)) : null;
    if (arg === '') arg = null;
    let tryInclude = false;
    if (strcaseeq(directive, 'include')) {
      // ok
    } else if (strcaseeq(directive, 'tryinclude')) {
      tryInclude = true;
    } else if (strcaseeq(directive, 'exec')) {
      // execincludes=no (the default): the directive is ignored and therefore lost on a rewrite.
      ctx.log.push('Cannot perform #exec unless execincludes option is enabled in asterisk.conf (options section)!');
      return 0;
    } else {
      ctx.log.push(`Unknown directive '#${directive}' at line ${lineno} of ${configfile}`);
      return 0;
    }
    if (arg === null) {
      ctx.log.push(`Directive '#${directive}' needs an argument (filename) at line ${lineno} of ${configfile}`);
      return 0;
    }
    let target = arg;
    if (target[0] === '"' || target[0] === '<') {
      const closeQuote = target[0] === '<' ? '>' : '"';
      if (target.length > 1 && target[target.length - 1] === closeQuote) target = target.slice(1, -1);
      else if (target.length === 1) target = '';
    }
    // A file included twice is renamed "file~~N" (its contents would be saved there).
    let realName = '';
    const already = cfg.includes.find((inc) => inc.includedFile === target);
    if (already) {
      let n = 1;
      for (;;) {
        realName = `${target}~~${n}`;
        const probe = realName.startsWith('/') ? realName : `${ctx.configDir}/${realName}`;
        if (!fs.existsSync(Buffer.from(probe, 'latin1'))) break;
        n++;
      }
      ctx.log.push(`Same File included more than once! This data will be saved in ${realName} if saved back to disk.`);
    }
    const include = {
      locationFile: cfg.includeLevel === 1 ? '' : configfile,
      locationLine: lineno,
      exec: false,
      tryInclude,
      includedFile: realName || target,
      found: true,
      output: false,
    };
    cfg.includes.push(include);
    const r = internalLoad(ctx, target, cfg, realName);
    // Only a missing file counts as failure here: an invalid included file just stops parsing that file.
    if (r === 'missing') {
      include.found = false;
      if (!tryInclude) {
        ctx.log.push(`The file '${target}' was listed as a #include but it does not exist.`);
        return -1;
      }
    }
    return 0;
  }

  // name = value / name => value / name += value
  const cat = holder.cat;
  if (!cat) {
    ctx.log.push(`parse error: No category context for line ${lineno} of ${configfile}`);
    return -1;
  }
  let cur = line;
  const isEscaped = cur[0] === '\\';
  if (isEscaped) {
    cur = cur.slice(1);
    if (cur.length === 0 || cur.charCodeAt(0) < 33) {
      ctx.log.push(`Invalid escape in line ${lineno} of ${configfile}`);
      return -1;
    }
  }
  const eq = cur.indexOf('=', isEscaped ? 1 : 0);
  let name: string;
  let value: string;
  let object = false;
  if (eq > (isEscaped ? 1 : 0) && cur[eq - 1] === '+') {
    name = astStrip(cur.slice(0, eq - 1));
    const more = cur.slice(eq + 1);
    let replace: ConfVariable | null = null;
    for (const v of cat.vars) if (v.name === name) replace = v;
    if (replace) {
      replace.value = (replace.value + more).replace(/[ \t\n\v\f\r]+$/, '').replace(/^[\x00-\x20]+/, '');
      return 0;
    }
    value = more;
  } else if (eq >= 0) {
    value = cur.slice(eq + 1);
    if (value[0] === '>') {
      object = true;
      value = value.slice(1);
    }
    name = astStrip(cur.slice(0, eq));
  } else {
    ctx.log.push(`No '=' (equal sign) in line ${lineno} of ${configfile}`);
    return 0;
  }
  if (!name) {
    ctx.log.push(`No variable name in line ${lineno} of ${configfile}`);
    return 0;
  }
  const v = new ConfVariable(name, astStrip(value), fileTag, lineno);
  v.object = object;
  state.lastCat = null;
  state.lastVar = v;
  cat.append(v);
  const c = takeComments(ctx, state);
  v.precomments = c.pre;
  v.sameline = c.same;
  return 0;
}
