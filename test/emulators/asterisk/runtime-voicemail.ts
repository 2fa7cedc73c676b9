// The "running" app_voicemail: mailboxes parsed from voicemail.conf at load/reload (the PIN is never reported).
import { asciiLower, astTrue, strcaseeq } from './c-strings.js';
import type { ConfTree } from './conf-model.js';
import { loadConfig } from './conf-parser.js';

export interface Mailbox {
  context: string;
  mailbox: string;
  password: string;
  fullname: string;
  email: string;
  pager: string;
  options: Map<string, string>;
}

/** Categories of voicemail.conf that are not mailbox contexts. */
const NON_CONTEXTS = ['general', 'zonemessages'];

export class VoicemailRuntime {
  private mailboxes: Mailbox[] = [];
  private general = new Map<string, string>();
  loadedTree: ConfTree | null = null;

  constructor(private readonly configDir: string) {}

  /** load_config(): an unreadable or invalid file keeps the previous users; the reload still succeeds. */
  reload(): number {
    const tree = loadConfig(this.configDir, 'voicemail.conf');
    if (tree === 'invalid' || tree === 'missing') return 0;
    const general = new Map<string, string>();
    const boxes: Mailbox[] = [];
    for (const cat of tree.categories) {
      if (cat.ignored) continue;
      if (strcaseeq(cat.name, 'general')) {
        for (const v of cat.vars) general.set(asciiLower(v.name), v.value);
        continue;
      }
      if (NON_CONTEXTS.some((n) => strcaseeq(n, cat.name))) continue;
      for (const v of cat.vars) {
        // <mailbox> => <password>,<full name>,<email>,<pager email>,<options...>
        const parts = v.value.split(',');
        const options = new Map<string, string>();
        const rest = parts.slice(4).join(',');
        for (const item of rest.split('|')) {
          const eq = item.indexOf('=');
          if (eq > 0) options.set(asciiLower(item.slice(0, eq).trim()), item.slice(eq + 1).trim());
        }
        // A second definition of the same mailbox in a context is ignored.
        if (boxes.some((b) => b.context === cat.name && b.mailbox === v.name)) continue;
        boxes.push({
          context: cat.name,
          mailbox: v.name,
          password: parts[0] ?? '',
          fullname: parts[1] ?? '',
          email: parts[2] ?? '',
          pager: parts[3] ?? '',
          options,
        });
      }
    }
    this.general = general;
    this.mailboxes = boxes;
    this.loadedTree = tree;
    return 0;
  }

  list(): Mailbox[] {
    return this.mailboxes;
  }

  /** The VoicemailUserEntry fields for one mailbox (app_voicemail manager_list_voicemail_users, non-IMAP build). */
  entryFields(b: Mailbox): Array<[string, string | number]> {
    const opt = (name: string, dflt: string): string => b.options.get(name) ?? this.general.get(name) ?? dflt;
    const yesNo = (name: string, dflt: boolean): string => {
      const v = b.options.get(name) ?? this.general.get(name);
      return (v === undefined ? dflt : astTrue(v)) ? 'Yes' : 'No';
    };
    const int = (name: string, dflt: number): number => {
      const v = Number.parseInt(opt(name, String(dflt)), 10);
      return Number.isFinite(v) ? v : dflt;
    };
    const volgain = Number.parseFloat(opt('volgain', '0'));
    return [
      ['VMContext', b.context],
      ['VoiceMailbox', b.mailbox],
      ['Fullname', b.fullname],
      ['Email', b.email],
      ['Pager', b.pager],
      ['ServerEmail', opt('serveremail', 'asterisk')],
      ['FromString', opt('fromstring', '')],
      ['MailCommand', this.general.get('mailcmd') ?? '/usr/sbin/sendmail -t'],
      ['Language', opt('language', '')],
      ['TimeZone', opt('tz', '')],
      ['Callback', opt('callback', '')],
      ['Dialout', opt('dialout', '')],
      ['UniqueID', ''],
      ['ExitContext', opt('exitcontext', '')],
      ['SayDurationMinimum', int('saydurationm', 2)],
      ['SayEnvelope', yesNo('envelope', true)],
      ['SayCID', yesNo('saycid', false)],
      ['AttachMessage', yesNo('attach', false)],
      ['AttachmentFormat', opt('attachfmt', 'wav49')],
      ['DeleteMessage', yesNo('delete', false)],
      ['VolumeGain', (Number.isFinite(volgain) ? volgain : 0).toFixed(2)],
      ['CanReview', yesNo('review', false)],
      ['CallOperator', yesNo('operator', false)],
      ['MaxMessageCount', int('maxmsg', 100)],
      ['MaxMessageLength', int('maxsecs', 0)],
      ['NewMessageCount', 0],
    ];
  }
}
