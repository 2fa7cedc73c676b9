// Config actions: GetConfig, GetConfigJSON, ListCategories, CreateConfig, UpdateConfig (with the file-path checks).
import * as fs from 'node:fs';
import type { ActionContext, ActionDefinition } from './action-types.js';
import { astFalse, astStrip, astTrue } from './c-strings.js';
import { browseFiltered, type ConfTree } from './conf-model.js';
import { loadConfig } from './conf-parser.js';
import { UPDATE_ERROR_TEXT, applyUpdates, includeRename } from './conf-updates.js';
import { saveConfig } from './conf-writer.js';
import { EVENT_FLAG } from './permissions.js';
import { Reply, getHeader, type AmiMessage } from './protocol.js';

/** glibc strerror() texts for the errno values CreateConfig can meet. */
const STRERROR: Record<string, string> = {
  ENOENT: 'No such file or directory',
  EEXIST: 'File exists',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  EISDIR: 'Is a directory',
  ENOTDIR: 'Not a directory',
  ENAMETOOLONG: 'File name too long',
  ELOOP: 'Too many levels of symbolic links',
  EROFS: 'Read-only file system',
  ENOSPC: 'No space left on device',
};

function strerror(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code ?? '';
  return STRERROR[code] ?? 'Unknown error';
}

/** Files are named in binary (latin1) form on the wire; so are the paths used on disk. */
function diskPath(p: string): Buffer {
  return Buffer.from(p, 'latin1');
}

/**
 * is_restricted_file(): 0 inside the config dir, 1 when the real path leaves it (prefix test on the string,
 * as ast_begins_with does), -1 when realpath() fails (e.g. the file does not exist).
 */
export function restrictedFile(configDir: string, filename: string): 0 | 1 | -1 {
  const stripped = astStrip(filename);
  const p = stripped.startsWith('/') ? stripped : `${configDir}/${stripped}`;
  let real: string;
  try {
    real = fs.realpathSync(diskPath(p), { encoding: 'latin1' });
  } catch {
    return -1;
  }
  return real.startsWith(configDir) ? 0 : 1;
}

function jsonEscape(s: string): string {
  return s.replace(/(["\\])/g, '\\$1');
}

function configAuthority(...classes: Array<keyof typeof EVENT_FLAG>): number {
  return classes.reduce((acc, c) => acc | EVENT_FLAG[c], 0);
}

/** Loads a config file for an action, or answers the error Asterisk gives for a missing or unparsable one. */
function loadForAction(ctx: ActionContext, m: AmiMessage, dir: string, filename: string): ConfTree | undefined {
  const cfg = loadConfig(dir, filename, { withComments: true });
  if (cfg === 'missing') ctx.write(Reply.error(m, 'Config file not found').toString());
  else if (cfg === 'invalid') ctx.write(Reply.error(m, 'Config file has invalid format').toString());
  else return cfg;
  return undefined;
}

function getConfig(ctx: ActionContext, m: AmiMessage): void {
  const fn = getHeader(m, 'Filename');
  const category = getHeader(m, 'Category');
  const filter = getHeader(m, 'Filter');
  if (!fn) return ctx.write(Reply.error(m, 'Filename not specified').toString());
  const r = restrictedFile(ctx.server.configDir, fn);
  if (r === 1) return ctx.write(Reply.error(m, 'File requires escalated privileges').toString());
  if (r === -1) return ctx.write(Reply.error(m, 'Config file not found').toString());
  const cfg = loadForAction(ctx, m, ctx.server.configDir, fn);
  if (!cfg) return;
  const out = Reply.startAck(m);
  const n6 = (n: number) => String(n).padStart(6, '0');
  const cats = browseFiltered(cfg, category || null, filter || null);
  cats.forEach((cat, i) => {
    out.line(`Category-${n6(i)}`, cat.name);
    if (cat.ignored) out.line(`IsTemplate-${n6(i)}`, 1);
    if (cat.templates.length) out.line(`Templates-${n6(i)}`, cat.templates.map((t) => t.name).join(','));
    cat.vars.forEach((v, j) => out.line(`Line-${n6(i)}-${n6(j)}`, `${v.name}=${v.value}`));
  });
  if (category && cats.length === 0) out.raw('No categories found\r\n');
  ctx.write(out.end().toString());
}

function getConfigJson(ctx: ActionContext, m: AmiMessage): void {
  const fn = getHeader(m, 'Filename');
  const filter = getHeader(m, 'Filter');
  const category = getHeader(m, 'Category');
  if (!fn) return ctx.write(Reply.error(m, 'Filename not specified').toString());
  if (restrictedFile(ctx.server.configDir, fn) !== 0) {
    return ctx.write(Reply.error(m, 'File requires escalated privileges').toString());
  }
  const cfg = loadForAction(ctx, m, ctx.server.configDir, fn);
  if (!cfg) return;
  const objs = browseFiltered(cfg, category || null, filter || null).map((cat) => {
    const members: string[] = [];
    if (cat.ignored) members.push('"istemplate":1');
    // The template list is not escaped (as in manager.c).
    if (cat.templates.length) members.push(`"templates":"${cat.templates.map((t) => t.name).join(',')}"`);
    for (const v of cat.vars) members.push(`"${jsonEscape(v.name)}":"${jsonEscape(v.value)}"`);
    return `"${jsonEscape(cat.name)}":{${members.join(',')}}`;
  });
  ctx.write(Reply.startAck(m).raw(`JSON: {${objs.join(',')}}\r\n\r\n`).toString());
}

function listCategories(ctx: ActionContext, m: AmiMessage): void {
  const fn = getHeader(m, 'Filename');
  const match = getHeader(m, 'Match');
  if (!fn) return ctx.write(Reply.error(m, 'Filename not specified').toString());
  const r = restrictedFile(ctx.server.configDir, fn);
  if (r === 1) return ctx.write(Reply.error(m, 'File requires escalated privileges').toString());
  if (r === -1) return ctx.write(Reply.error(m, 'Config file not found').toString());
  const cfg = loadForAction(ctx, m, ctx.server.configDir, fn);
  if (!cfg) return;
  const out = Reply.startAck(m);
  const cats = browseFiltered(cfg, null, match || null);
  cats.forEach((cat, i) => out.line(`Category-${String(i).padStart(6, '0')}`, cat.name));
  if (cats.length === 0) out.raw('Error: no categories found\r\n');
  ctx.write(out.end().toString());
}

function createConfig(ctx: ActionContext, m: AmiMessage): void {
  const fn = getHeader(m, 'Filename');
  if (!fn) return ctx.write(Reply.error(m, 'Filename not specified').toString());
  const stripped = astStrip(fn);
  const filepath = stripped.startsWith('/') ? stripped : `${ctx.server.configDir}/${stripped}`;
  const slash = filepath.lastIndexOf('/');
  if (slash < 0) return ctx.write(Reply.error(m, 'Filename is invalid').toString());
  const dir = filepath.slice(0, slash);
  const name = filepath.slice(slash + 1);
  let realDir: string;
  try {
    realDir = fs.realpathSync(diskPath(dir || '/'), { encoding: 'latin1' });
  } catch (e) {
    return ctx.write(Reply.error(m, strerror(e)).toString());
  }
  if (!realDir.startsWith(ctx.server.configDir)) {
    return ctx.write(Reply.error(m, 'File requires escalated privileges').toString());
  }
  try {
    fs.closeSync(fs.openSync(diskPath(`${realDir}/${name}`), fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_RDONLY, 0o666));
  } catch (e) {
    return ctx.write(Reply.error(m, strerror(e)).toString());
  }
  ctx.write(Reply.ack(m, 'New configuration file created successfully').toString());
}

function updateConfig(ctx: ActionContext, m: AmiMessage): void {
  const sfn = getHeader(m, 'SrcFilename');
  const dfn = getHeader(m, 'DstFilename');
  const rld = getHeader(m, 'Reload');
  const pec = getHeader(m, 'PreserveEffectiveContext');
  const dir = ctx.server.configDir;
  if (!sfn || !dfn) return ctx.write(Reply.error(m, 'Filename not specified').toString());
  if (restrictedFile(dir, sfn) !== 0 || restrictedFile(dir, dfn) !== 0) {
    return ctx.write(Reply.error(m, 'File requires escalated privileges').toString());
  }
  const cfg = loadForAction(ctx, m, dir, sfn);
  if (!cfg) return;
  const result = applyUpdates((h) => getHeader(m, h), cfg, dfn);
  if (result !== null) return ctx.write(Reply.error(m, UPDATE_ERROR_TEXT[result]).toString());
  includeRename(cfg, sfn, dfn);
  const preserve = !pec || astTrue(pec);
  if (!saveConfig(dfn, cfg, { configDir: dir, generator: 'Manager', preserveEffectiveContext: preserve })) {
    return ctx.write(Reply.error(m, 'Save of config failed').toString());
  }
  ctx.write(Reply.ack(m, null).toString());
  // The reload runs after the acknowledgement; its outcome only shows up as a Reload event.
  if (rld) {
    if (astTrue(rld)) ctx.server.runtime.reload(null);
    else if (!astFalse(rld)) ctx.server.runtime.reload(rld);
  }
}

export const configActions: ActionDefinition[] = [
  { name: 'GetConfig', authority: configAuthority('system', 'config'), handler: getConfig },
  { name: 'GetConfigJSON', authority: configAuthority('system', 'config'), handler: getConfigJson },
  { name: 'ListCategories', authority: configAuthority('config'), handler: listCategories },
  { name: 'CreateConfig', authority: configAuthority('config'), handler: createConfig },
  { name: 'UpdateConfig', authority: configAuthority('config'), handler: updateConfig },
];
