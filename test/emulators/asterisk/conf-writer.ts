// Rewrites a config tree to disk like ast_config_text_file_save2(): every file of the tree, ;! header, comments.
import * as fs from 'node:fs';
import { strcaseeq } from './c-strings.js';
import type { ConfCategory, ConfInclude, ConfTree, ConfVariable } from './conf-model.js';

/** ctime(3) format in local time, e.g. "Sun Nov 22 19:05:50 2026\n". */
export function ctime(d: Date): string {
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p2 = (n: number) => String(n).padStart(2, '0');
  const day = String(d.getDate()).padStart(2, ' ');
  return `${days[d.getDay()]} ${months[d.getMonth()]} ${day} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())} ${d.getFullYear()}\n`;
}

function genHeader(configfile: string, fn: string, generator: string, now: Date): string {
  let h = ';!\n;! Automatically generated configuration file\n';
  h += configfile !== fn ? `;! Filename: ${configfile} (${fn})\n` : `;! Filename: ${configfile}\n`;
  h += `;! Generator: ${generator}\n`;
  h += `;! Creation Date: ${ctime(now)}`;
  h += ';!\n';
  return h;
}

interface FileScratch {
  fname: string;
  lineno: number;
}

export interface SaveOptions {
  configDir: string;
  generator: string;
  preserveEffectiveContext: boolean;
  now?: Date;
}

function countLinefeeds(s: string | null): number {
  if (!s) return 0;
  let n = 0;
  for (const ch of s) if (ch === '\n') n++;
  return n;
}

function directiveText(incl: ConfInclude): string {
  return `#${incl.tryInclude ? 'tryinclude' : 'include'} "${incl.includedFile}"\n`;
}

/** Escape every ';' as '\;' and drop trailing blanks (Asterisk 22 writes values without trailing spaces). */
function escapeValue(v: string): string {
  return v.replace(/;/g, '\\;').replace(/[ \t]+$/, '');
}

/**
 * ast_config_text_file_save2(configfile, cfg, generator, flags). Returns false ("Save of config failed") when a
 * file of the tree is not readable and writable; nothing is written in that case.
 */
export function saveConfig(configfile: string, cfg: ConfTree, opts: SaveOptions): boolean {
  const now = opts.now ?? new Date();
  const makeFn = (file: string): string => {
    if (!file) return configfile.startsWith('/') ? configfile : `${opts.configDir}/${configfile}`;
    return file.startsWith('/') ? file : `${opts.configDir}/${file}`;
  };

  const accessOk = (fn: string): boolean => {
    try {
      fs.accessSync(Buffer.from(fn, 'latin1'), fs.constants.R_OK | fs.constants.W_OK);
      return true;
    } catch {
      return false;
    }
  };

  for (const incl of cfg.includes) {
    incl.output = false;
    if (!incl.exec && incl.found && !accessOk(makeFn(incl.includedFile))) return false;
  }
  if (!accessOk(makeFn(''))) return false;

  const outputs = new Map<string, string>();
  const truncated = new Set<string>();
  const scratch = new Map<string, FileScratch>();
  const setFn = (file: string): FileScratch => {
    const fname = makeFn(file);
    let fi = scratch.get(fname);
    if (!fi) {
      fi = { fname, lineno: 1 };
      scratch.set(fname, fi);
    }
    return fi;
  };
  const write = (fname: string, text: string) => {
    outputs.set(fname, (outputs.get(fname) ?? '') + text);
  };

  for (const incl of cfg.includes) {
    if (incl.exec || !incl.found) continue;
    const fi = setFn(incl.includedFile);
    outputs.set(fi.fname, genHeader(configfile, fi.fname, opts.generator, now));
    truncated.add(fi.fname);
  }
  const mainFi = setFn('');
  outputs.set(mainFi.fname, genHeader(configfile, mainFi.fname, opts.generator, now));
  truncated.add(mainFi.fname);

  const insertLeadingBlankLines = (fi: FileScratch, precomments: string | null, lineno: number): void => {
    const pre = countLinefeeds(precomments);
    if (lineno - pre - fi.lineno < 0) return;
    if (lineno === 0) return;
    if (lineno - pre - fi.lineno < 5) {
      for (let i = fi.lineno; i < lineno - pre; i++) write(fi.fname, '\n');
    } else {
      write(fi.fname, '\n');
    }
    fi.lineno = lineno + 1;
  };

  const dumpIncludesBefore = (file: string, lineno: number, fname: string) => {
    for (const incl of cfg.includes) {
      if (incl.locationFile === file && lineno > incl.locationLine && !incl.output) {
        write(fname, directiveText(incl));
        incl.output = true;
      }
    }
  };

  const inheritedElsewhere = (cat: ConfCategory, v: ConfVariable): boolean => {
    for (const t of cat.templates) {
      for (const tv of t.inst.vars) {
        if (opts.preserveEffectiveContext) {
          if (strcaseeq(v.name, tv.name) && v.value === tv.value) return true;
        } else if (v.inherited) {
          return true;
        } else if (strcaseeq(v.name, tv.name) && v.value === tv.value) {
          return true;
        }
      }
    }
    return false;
  };

  for (const cat of cfg.categories) {
    const fi = setFn(cat.file);
    dumpIncludesBefore(cat.file, cat.lineno, fi.fname);
    insertLeadingBlankLines(fi, cat.precomments, cat.lineno);
    if (cat.precomments !== null) {
      let c: string | null = cat.precomments;
      while (c !== null && c[0] === ';' && c[1] === '!') {
        const nl = c.indexOf('\n', 1);
        c = nl >= 0 ? c.slice(nl + 1) : null;
      }
      if (c) write(fi.fname, c);
    }
    let header = `[${cat.name}]`;
    if (cat.ignored || cat.templates.length > 0) {
      header += '(';
      if (cat.ignored) header += '!';
      if (cat.ignored && cat.templates.length > 0) header += ',';
      header += cat.templates.map((t) => t.name).join(',');
      header += ')';
    }
    write(fi.fname, header + (cat.sameline ?? '\n'));
    if (cat.trailing && !(cat.trailing[0] === ';' && cat.trailing[1] === '!')) write(fi.fname, cat.trailing);

    for (const v of cat.vars) {
      if (inheritedElsewhere(cat, v)) continue;
      const vfi = setFn(v.file);
      dumpIncludesBefore(v.file, v.lineno, vfi.fname);
      insertLeadingBlankLines(vfi, v.precomments, v.lineno);
      if (v.precomments && !(v.precomments[0] === ';' && v.precomments[1] === '!')) write(vfi.fname, v.precomments);
      const op = v.object ? '=>' : '=';
      const escaped = escapeValue(v.value);
      if (v.sameline) write(vfi.fname, `${v.name} ${op} ${escaped}  ${v.sameline}`);
      else write(vfi.fname, `${v.name} ${op} ${escaped}\n`);
      if (v.trailing && !(v.trailing[0] === ';' && v.trailing[1] === '!')) write(vfi.fname, v.trailing);
    }
  }

  for (const incl of cfg.includes) {
    if (!incl.output) {
      const fi = setFn(incl.locationFile);
      write(fi.fname, directiveText(incl));
      incl.output = true;
    }
  }

  try {
    for (const [fname, text] of outputs) {
      if (truncated.has(fname)) fs.writeFileSync(Buffer.from(fname, 'latin1'), text, 'latin1');
      else fs.appendFileSync(Buffer.from(fname, 'latin1'), text, 'latin1');
    }
  } catch {
    return false;
  }
  return true;
}
