// What an Issabel GUI does to voicemail.conf when it saves a mailbox: a port of IssabelPBX's parse_voicemailconf() and
// write_voicemailconf() (framework/amp_conf/htdocs/admin/libraries/voicemail.function.php, IssabelFoundation/issabelPBX).
//
// Behaviour kept from the PHP: #include (not #tryinclude) is followed both when reading and when writing, so included
// files are rewritten too; a mailbox line is written back only where the section being written is the one it was read
// under, otherwise it is dropped there and re-added at the end of voicemail.conf; a `[name](options)` header is not a
// section header to the writer (its regex wants `]` at the end of the line) but is one to the reader; a voicemail.conf
// without "vm_email" is first replaced by the template. Not kept: fgets()'s 1023-byte line split.
import * as fs from 'node:fs';
import * as path from 'node:path';

interface Mailbox {
  mailbox: string;
  pwd: string;
  name: string;
  email: string;
  pager: string;
  options: Map<string, string>;
}

/** $vmconf: section → (mailbox number → mailbox | option name → value), in insertion order as PHP arrays keep it. */
type VmConf = Map<string, Map<string, Mailbox | string>>;

/** voicemail.conf.template of IssabelPBX. */
export const ISSABEL_VOICEMAIL_TEMPLATE = '[general]\n#include vm_general.inc\n#include vm_email.inc\n[default]\n\n';

const read = (file: string): string[] | null => {
  if (!fs.existsSync(file)) return null;
  const text = fs.readFileSync(file, 'latin1');
  // fgets(): each line keeps its "\n"; the PHP regexes' `$` then matches before it, as it does here once it is cut.
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
};

const sectionOf = (vm: VmConf, section: string) => {
  let s = vm.get(section);
  if (!s) vm.set(section, (s = new Map()));
  return s;
};

const includePath = (from: string, arg: string) => (arg.trim().startsWith('/') ? arg.trim() : `${path.dirname(from)}/${arg.trim()}`);

function parse(file: string, vm: VmConf, state: { section: string }): void {
  const lines = read(file);
  if (!lines) return;
  for (const line of lines) {
    let m: RegExpExecArray | null;
    if ((m = /^\s*(\d+)\s*=>\s*([0-9A-D*#]*),(.*),(.*),(.*),(.*)\s*([;#].*)?/i.exec(line))) {
      const options = new Map<string, string>();
      for (const opt of (m[6] ?? '').split('|')) {
        const kv = opt.split('=');
        if (kv[1] !== undefined) options.set(kv[0] ?? '', kv[1]);
      }
      sectionOf(vm, state.section).set(m[1]!, { mailbox: m[1]!, pwd: m[2]!, name: m[3]!, email: m[4]!, pager: m[5]!, options });
    } else if ((m = /^(?:\s*)#include(?:\s+)["']?([^"']*)["']?(\s*[;#].*)?$/.exec(line))) {
      parse(includePath(file, m[1]!), vm, state);
    } else if ((m = /^\s*\[(.+)\]/.exec(line))) {
      state.section = m[1]!.toLowerCase();
    } else if ((m = /^\s*([a-zA-Z0-9-_]+)\s*=\s*(.*?)\s*([;#].*)?$/.exec(line))) {
      sectionOf(vm, state.section).set(m[1]!, m[2]!);
    }
  }
}

const mailboxLine = (b: Mailbox) => `${b.mailbox} => ${b.pwd},${b.name},${b.email},${b.pager},${[...b.options].map(([k, v]) => `${k}=${v}`).join('|')}`;

/** Everything left of a section, as the writer appends it when the section ends (or at the end of voicemail.conf). */
function flush(out: string[], entries: Map<string, Mailbox | string> | undefined): void {
  if (!entries) return;
  for (const [key, value] of entries) out.push(typeof value === 'string' ? `${key}=${value}` : mailboxLine(value));
  entries.clear();
}

function write(file: string, vm: VmConf, state: { section: string | null }, iteration: number): void {
  const lines = read(file);
  if (!lines) return;
  const out: string[] = [];
  const existing: string[] = [];
  for (const line of lines) {
    let m: RegExpExecArray | null;
    if ((m = /^(\s*)(\d+)(\s*)=>(\s*)(\d*),(.*),(.*),(.*),(.*)(\s*[;#].*)?$/.exec(line))) {
      const entries = state.section === null ? undefined : vm.get(state.section);
      const known = entries?.get(m[2]!);
      if (known !== undefined && typeof known !== 'string') {
        const opts = [...known.options].map(([k, v]) => `${k}=${v}`).join('|');
        out.push(`${m[1]}${known.mailbox}${m[3]}=>${m[4]}${known.pwd},${known.name},${known.email},${known.pager},${opts}${m[10] ?? ''}`);
        entries!.delete(m[2]!);
      }
      // Otherwise "we don't know about this mailbox, so it must be deleted".
    } else if ((m = /^(\s*)#include(\s+)["']?([^"']*)["']?(\s*[;#].*)?$/.exec(line))) {
      out.push(m[0].trim());
      write(includePath(file, m[3]!), vm, state, iteration + 1);
    } else if ((m = /^(\s*)\[(.+)\](\s*[;#].*)?$/.exec(line))) {
      if (state.section !== null) flush(out, vm.get(state.section));
      state.section = m[2]!.toLowerCase();
      out.push(`${m[1]}[${state.section}]${m[3] ?? ''}`);
      existing.push(state.section);
    } else if ((m = /^(\s*)([a-zA-Z0-9-_]+)(\s*)=(\s*)(.*?)(\s*[;#].*)?$/.exec(line))) {
      const entries = state.section === null ? undefined : vm.get(state.section);
      const known = entries?.get(m[2]!);
      if (known !== undefined) {
        out.push(`${m[1]}${m[2]}${m[3]}=${m[4]}${typeof known === 'string' ? known : 'Array'}${m[6] ?? ''}`);
        entries!.delete(m[2]!);
      }
    } else {
      out.push(line.replace(/[\r\n]/g, ''));
    }
  }
  if (iteration === 0) {
    for (const [section, entries] of vm) {
      if (!existing.includes(section)) out.push(`[${section}]`);
      flush(out, entries);
    }
  }
  fs.writeFileSync(file, `${out.join('\n')}\n`, 'latin1');
}

/** getVoicemail() then saveVoicemail() with nothing changed: what saving any extension in the GUI does to the files. */
export function rewriteVoicemailConf(configDir: string, file = 'voicemail.conf'): void {
  const abs = path.join(configDir, file);
  // checkCorrectVoicemailconf(): a voicemail.conf that does not mention vm_email is replaced by the template.
  if (!fs.existsSync(abs) || !fs.readFileSync(abs, 'latin1').includes('vm_email')) fs.writeFileSync(abs, ISSABEL_VOICEMAIL_TEMPLATE, 'latin1');
  const vm: VmConf = new Map();
  parse(abs, vm, { section: 'general' });
  write(abs, vm, { section: null }, 0);
}
