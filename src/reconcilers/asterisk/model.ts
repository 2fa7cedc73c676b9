// Shapes of the Asterisk reconciler: config sections as read and rendered, live state, UpdateConfig ops, change payloads.
import { REDACTED, Secret } from '../../desired/secret.ts';

/** The four files infrasec writes, in the order they are written and their modules reloaded (dialplan last). */
export const FILE_ROLES = ['pjsip', 'confbridge', 'voicemail', 'extensions'] as const;
export type FileRole = (typeof FILE_ROLES)[number];

/** The module whose reload makes a file's content live. */
export const MODULE_OF: Readonly<Record<FileRole, string>> = {
  pjsip: 'res_pjsip',
  confbridge: 'app_confbridge',
  voicemail: 'app_voicemail',
  extensions: 'pbx_config',
};

/** A second section with the name of an existing one is built under this prefix and renamed (Append hits every namesake). */
export const TMP_PREFIX = 'infrasec-tmp-';

/** A config value: text, a Secret, or text with secret parts (a voicemail line: PIN, then name and e-mail). */
export type ConfValue = string | Secret | ReadonlyArray<string | Secret>;

export interface ConfVar {
  readonly name: string;
  readonly value: ConfValue;
}

/** A category of a config file as GetConfig shows it (inherited variables first, as Asterisk lists them). */
export interface ConfSection {
  readonly name: string;
  readonly templates: readonly string[];
  readonly isTemplate: boolean;
  readonly vars: readonly ConfVar[];
}

export interface LiveFile {
  readonly role: FileRole;
  readonly file: string;
  readonly exists: boolean;
  /** Every category, owned or not (templates included), in file order. */
  readonly sections: readonly ConfSection[];
  /** This instance's ownership template is defined in the file. */
  readonly hasTemplate: boolean;
}

/** A whole section infrasec owns: a pjsip endpoint, aor or auth, a confbridge profile. */
export interface SectionSpec {
  readonly role: FileRole;
  readonly name: string;
  /** The `type=` value ('' when absent). */
  readonly type: string;
  /** Every variable, `type` first. */
  readonly vars: readonly ConfVar[];
  /** Observed inheriting an earlier version's template (no instance), inside this instance's scope: rewritten with its own. */
  readonly legacy?: boolean;
}

/** A line infrasec owns inside a shared owned category: a dialplan `exten`, a voicemail mailbox. */
export interface LineSpec {
  readonly role: FileRole;
  readonly category: string;
  readonly var: string;
  readonly value: ConfValue;
}

export type ObjectKind = 'Extension' | 'Conference';

/** A desired resource rendered as Asterisk config, or the owned config observe grouped under one identity. */
export interface AsteriskObject {
  readonly kind: ObjectKind;
  /** `ext:<number>` or `conf:<name>`: what Asterisk itself identifies the object by. */
  readonly key: string;
  /** The desired object's metadata.name, recorded as the label of its first dialplan priority. */
  readonly label?: string;
  /** Observed objects: the dialplan numbers their lines answer on (a leader entry `25*` counts as 25). */
  readonly numbers?: readonly string[];
  readonly sections: readonly SectionSpec[];
  readonly lines: readonly LineSpec[];
}

/** A category that holds lines of many objects (dialplan and messaging contexts, the voicemail context). */
export interface ContainerRef {
  readonly role: FileRole;
  readonly name: string;
}
/**
 * `legacy`: an earlier version's (no instance) inside this instance's scope, to be taken over; `foreign`: another
 * instance's, or an earlier version's outside this instance's scope (LiveAsterisk.owners says whose).
 */
export type ContainerState = 'missing' | 'owned' | 'unowned' | 'duplicate' | 'legacy' | 'foreign';

export interface RunningEndpoint {
  readonly name: string;
  readonly aor: string;
  readonly auths: string;
  readonly transport: string;
}

/** A value read from what Asterisk runs: text, or for a secret only its fingerprint (see fingerprint.ts). */
export type RunningValue = string | { readonly fingerprint: string };

/** One loaded res_pjsip object (EndpointDetail, AorDetail, AuthDetail), by lower-cased header name (`DtmfMode` → `dtmfmode`). */
export type RunningFields = ReadonlyMap<string, RunningValue>;

export interface RunningMailbox {
  readonly context: string;
  readonly mailbox: string;
  readonly fullname: string;
  readonly email: string;
  readonly pager: string;
  /** AttachMessage: Yes / No. */
  readonly attach: string;
}

/** One priority of the loaded dialplan (a ListDialplan event). `hint` for a hint. */
export interface RunningPriority {
  readonly exten: string;
  readonly priority: string;
  readonly label: string;
  readonly app: string;
  readonly data: string;
}

export interface RunningContext {
  readonly priorities: readonly RunningPriority[];
  readonly includes: readonly string[];
}

/** Where a call from endpointContext to one of infrasec's numbers ends up, following the loaded includes in order. */
export interface RunningReach {
  /** The context whose extension answers first; null when nothing does (or endpointContext is not loaded). */
  readonly answeredBy: string | null;
  /** infrasec's context is among the contexts the search goes through at all. */
  readonly reached: boolean;
}

/**
 * What Asterisk runs, read back through AMI; each part is undefined when it could not be read (the AMI user lacks the
 * class it needs). Compared with the files by runtime-compare.ts.
 */
export interface RunningState {
  readonly endpoints?: ReadonlyMap<string, RunningEndpoint>;
  /** `endpoint/200`, `aor/200`, `auth/200-auth` (lower case) of the owned endpoints that are loaded. */
  readonly pjsip?: ReadonlyMap<string, RunningFields>;
  /** Keyed `mailbox@context` (lower case). */
  readonly mailboxes?: ReadonlyMap<string, RunningMailbox>;
  /** infrasec's contexts and includeFrom, by lower-cased name; null when the context is not loaded. */
  readonly dialplan?: ReadonlyMap<string, RunningContext | null>;
  /** Per owned number of `context` (as dialled, `25*` included). */
  readonly reach?: ReadonlyMap<string, RunningReach>;
  /** Loaded ConfBridge profiles by lower-cased name (null: not loaded); 'no-permission' without write=command. */
  readonly confbridge?: ReadonlyMap<string, RunningFields | null> | 'no-permission';
}

/** The admin's [includeFrom] in the extensions file, through which from-internal reaches infrasec's context. */
export interface IncludeLink {
  /** missing: no such category; unowned: the admin's (the usual case); owned: an earlier infrasec owned it whole. */
  readonly state: 'off' | 'missing' | 'unowned' | 'owned';
  /** Categories of that name in the file (Append reaches all of them). */
  readonly categories: number;
  /** How many `include => <context>` lines each category has. */
  readonly includes: readonly number[];
}

/** The file app_voicemail loads (voicemailConf), as GetConfig shows it with its #includes resolved. */
export interface VoicemailRoot {
  readonly file: string;
  readonly exists: boolean;
  /** It shows the ownership template of files.voicemail, so that file is #included (undefined: it has none to show yet). */
  readonly includesOwned?: boolean;
  /** Mailbox numbers of voicemailContext defined outside infrasec's sections (the GUI's). */
  readonly foreignMailboxes: ReadonlySet<string>;
  /** GetConfig refused it (it does not parse: app_voicemail cannot load it either). */
  readonly readError?: string;
}

/** Owned content observe could not place under an object identity. */
export interface Strays {
  readonly sections: readonly SectionSpec[];
  readonly lines: readonly LineSpec[];
}

export interface LiveAsterisk {
  readonly files: Readonly<Record<FileRole, LiveFile>>;
  readonly link: IncludeLink;
  readonly voicemailRoot: VoicemailRoot;
  /** Owned sections and lines in owned containers, grouped by identity (key). */
  readonly objects: ReadonlyMap<string, AsteriskObject>;
  readonly containers: ReadonlyMap<string, ContainerState>;
  readonly strays: Strays;
  /**
   * Sections (`role/name` lower-cased, containers included) another infrasec holds: another instance's name, or '' for
   * an earlier version's outside this instance's scope. Never changed by this instance.
   */
  readonly owners: ReadonlyMap<string, string>;
  /** Sections (`role/name` lower-cased) an earlier version wrote that this instance takes over (its scope holds them). */
  readonly legacy: ReadonlySet<string>;
  readonly running: RunningState;
  /** Modules written by an earlier apply whose reload was never confirmed. */
  readonly pendingReloads: ReadonlySet<string>;
  readonly observedAt: string;
}

export type ConfigOp =
  | { readonly op: 'NewCat'; readonly cat: string; readonly inherit?: string; readonly template?: boolean }
  | { readonly op: 'DelCat'; readonly cat: string }
  | { readonly op: 'RenameCat'; readonly cat: string; readonly to: string }
  | { readonly op: 'Append'; readonly cat: string; readonly var: string; readonly value: ConfValue; readonly object?: boolean }
  | { readonly op: 'Delete'; readonly cat: string; readonly var: string; readonly match?: string };

/** Ops that must land in one UpdateConfig (a section rebuilt, a temporary name renamed). */
export interface OpGroup {
  readonly role: FileRole;
  readonly ops: readonly ConfigOp[];
}

/** What verify expects to read back after a change. */
export interface Expectation {
  /** Sections and lines that must exist exactly so. */
  readonly present?: { readonly sections: readonly SectionSpec[]; readonly lines: readonly LineSpec[] };
  /** Sections (by name) and lines (by value) that must be gone. */
  readonly absent?: { readonly sections: ReadonlyArray<{ role: FileRole; name: string }>; readonly lines: readonly LineSpec[] };
  readonly containers?: readonly ContainerRef[];
  /** The include line in [includeFrom]: exactly one per category (true) or none (false). */
  readonly link?: boolean;
  readonly template?: FileRole;
  /** Reload: the running side of this module must match the files. */
  readonly runtime?: string;
}

/** change.payload of every asterisk change. */
export interface AsteriskPayload {
  readonly groups: readonly OpGroup[];
  /** CreateConfig this file before writing (UpdateConfig cannot create one). */
  readonly createFile?: FileRole;
  readonly reload?: {
    readonly module: string;
    /** `Kind/name` of the changes whose writes need this reload; the reload is skipped when none of them wrote. */
    readonly triggers: readonly string[];
    /** The running side differs from the file (or an earlier reload was never confirmed): reload regardless. */
    readonly always: boolean;
  };
  readonly expect: Expectation;
  readonly source?: { readonly file: string; readonly line: number; readonly col: number };
}

export const CHANGE_KINDS = ['ConfigFile', 'Context', 'Include', 'Extension', 'Conference', 'Section', 'Reload'] as const;
export type AsteriskChangeKind = (typeof CHANGE_KINDS)[number];

/** Files and templates first, then the containers and the include line reaching them, the objects, stray owned sections; reloads after every write. */
export const RANK: Readonly<Record<AsteriskChangeKind, number>> = {
  ConfigFile: 0,
  Context: 1,
  Include: 1,
  Extension: 2,
  Conference: 3,
  Section: 4,
  Reload: 9,
};

/** The plain text of a value, secrets included. For the wire and comparisons only. */
export function revealValue(v: ConfValue): string {
  if (typeof v === 'string') return v;
  if (v instanceof Secret) return v.reveal();
  return v.map((p) => (typeof p === 'string' ? p : p.reveal())).join('');
}

/** The printable text of a value: secret parts replaced by "(sensitive)". */
export function describeValue(v: ConfValue): string {
  if (typeof v === 'string') return v;
  if (v instanceof Secret) return REDACTED;
  return v.map((p) => (typeof p === 'string' ? p : REDACTED)).join('');
}

export function hasSecret(v: ConfValue): boolean {
  return typeof v !== 'string' && (v instanceof Secret || v.some((p) => typeof p !== 'string'));
}

export function containerId(role: FileRole, name: string): string {
  return `${role}/${name.toLowerCase()}`;
}
