// Benchmark: against the AMI emulator, infrasec's initial apply of N extensions vs the same sections sent as raw UpdateConfig actions, and a no-op plan vs the same reads sent raw (files, then what Asterisk runs).
//
// Usage: npm run bench:asterisk [-- N]   (N extensions, default 2000; env INFRASEC_BENCH_AST_ROUNDS no-op rounds, default 15; _PAIRS 2 or 1)
//
// Each initial write runs on its own fresh config dir and emulator, ABBA (raw, infrasec, infrasec, raw) so a drift of
// the shared machine hits both sides alike. The no-op plan and the raw read then alternate on the PBX infrasec
// converged; the ratio is the median of the ratios of adjacent pairs, which a slow drift of the load cancels out.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Extension } from '../src/desired/model.ts';
import { Secret } from '../src/desired/secret.ts';
import { guard } from '../src/engine/guard.ts';
import { DEFAULT_POLICY } from '../src/engine/types.ts';
import { AmiClient, type AmiHeaders, type HeaderValue } from '../src/reconcilers/asterisk/client.ts';
import { FILE_ROLES, type FileRole, MODULE_OF, type SectionSpec, type LineSpec } from '../src/reconcilers/asterisk/model.ts';
import { AsteriskReconciler } from '../src/reconcilers/asterisk/reconciler.ts';
import { renderExtension } from '../src/reconcilers/asterisk/render.ts';
import { resolveAsteriskSettings } from '../src/reconcilers/asterisk/settings.ts';
import { ext, state } from '../test/reconcilers/asterisk/desired-builder.ts';
import { PBX_FILES } from '../test/reconcilers/asterisk/pbx-fixture.ts';

const N = Number(process.argv[2] ?? process.env['INFRASEC_BENCH_AST_EXTENSIONS'] ?? 2000);
const ROUNDS = Number(process.env['INFRASEC_BENCH_AST_ROUNDS'] ?? 15);
/** 2 (default): ABBA; 1: raw then infrasec only. At 2000 extensions one initial write takes minutes on the emulator. */
const PAIRS = Number(process.env['INFRASEC_BENCH_AST_PAIRS'] ?? 2);
if (PAIRS !== 1 && PAIRS !== 2) throw new Error('INFRASEC_BENCH_AST_PAIRS must be 1 (raw, infrasec) or 2 (ABBA)');
if (!Number.isInteger(N) || N < 1 || N > 90_000) throw new Error(`extension count must be an integer from 1 to 90000, got ${process.argv[2]}`);

const signal = new AbortController().signal;
const ms = (t0: number) => performance.now() - t0;
const fmt = (x: number) => (x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : `${x.toFixed(0)} ms`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const amiSecret = new Secret('amipass', 'env', 'bench-ami');

/** 2000 phones as a COD has them: four in five softphones, one in five WebRTC browser phones; every third with voicemail. */
function extensions(): Extension[] {
  const out: Extension[] = [];
  for (let i = 0; i < N; i++) {
    const number = String(10_000 + i);
    const webrtc = i % 5 === 4;
    const vm = i % 3 === 0 ? { enabled: true, pin: { generate: true } as const, email: `p${number}@cod67.example.fr`, attach: true } : { enabled: false, attach: true };
    out.push(ext(`ext-${number}`, number, { callerIdName: `Poste ${number} Salle de crise`, webrtc, maxContacts: webrtc ? 3 : 2, voicemail: vm }));
  }
  return out;
}
const exts = extensions();
const pins = Object.fromEntries(exts.filter((e) => e.spec.voicemail.enabled).map((e) => [`Extension/${e.metadata.name}#voicemail.pin`, e.spec.number.slice(-4).padStart(6, '9')]));
const desired = state({ extensions: exts, secrets: pins });

/** An emulated Asterisk in its own process, as a real one would be: its CPU is not the controller's. */
interface Pbx {
  readonly port: number;
  readonly dir: string;
  readonly child: ChildProcess;
}

async function freshPbx(): Promise<Pbx> {
  const dir = mkdtempSync(join(tmpdir(), 'infrasec-bench-ast-'));
  for (const [f, text] of Object.entries(PBX_FILES)) writeFileSync(join(dir, f), text);
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/emulators/asterisk/main.ts', '--port', '0', '--config-dir', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = / on [^\s]+:(\d+),/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`emulator exited ${code}: ${out}`)));
  });
  return { port, dir, child };
}

async function closePbx(p: Pbx): Promise<void> {
  const exited = new Promise((resolve) => p.child.once('exit', resolve));
  p.child.kill('SIGTERM');
  await exited;
  rmSync(p.dir, { recursive: true, force: true });
}

async function connect(p: Pbx): Promise<AmiClient> {
  const c = new AmiClient({ host: '127.0.0.1', port: p.port, username: 'admin', secret: amiSecret, timeoutMs: 60_000 });
  await c.connect(signal);
  return c;
}

function reconcilerFor(p: Pbx): AsteriskReconciler {
  return new AsteriskReconciler({ host: '127.0.0.1', port: p.port, username: 'admin', secret: amiSecret, timeoutMs: 60_000, transports: { wss: 'transport-wss' } });
}

const LAYOUT = resolveAsteriskSettings({ host: '127.0.0.1', username: 'admin', secret: amiSecret, transports: { wss: 'transport-wss' } }).layout;
const OWNERSHIP_TEMPLATE = LAYOUT.template;
const FILES: Record<FileRole, string> = LAYOUT.files;

/**
 * The baseline: the same rendered sections and lines, written by hand as NewCat/Append (the aor under a temporary
 * name, renamed), packed into as few 128-line UpdateConfig messages as possible, then one Reload per module.
 */
function rawBatches(): Array<{ file: string; headers: AmiHeaders }> {
  const ops: Record<FileRole, Array<Array<[string, string, string?, HeaderValue?, string?]>>> = { pjsip: [], confbridge: [], voicemail: [], extensions: [] };
  const layout = LAYOUT;
  for (const role of ['pjsip', 'voicemail', 'extensions'] as const) ops[role].push([['NewCat', OWNERSHIP_TEMPLATE, 'template']]);
  for (const c of [layout.context, layout.messageContext]) ops.extensions.push([['NewCat', c, `inherit=${OWNERSHIP_TEMPLATE}`]]);
  ops.extensions.push([['Append', layout.includeFrom, undefined, ['>', layout.context], 'include']]);
  ops.voicemail.push([['NewCat', layout.voicemailContext, `inherit=${OWNERSHIP_TEMPLATE}`]]);
  for (const e of exts) {
    const o = renderExtension(e, desired.secrets, layout).object!;
    const seen = new Set<string>();
    for (const s of o.sections as SectionSpec[]) {
      const tmp = seen.has(s.name) ? `tmp-${s.name}` : s.name;
      seen.add(s.name);
      const g: Array<[string, string, string?, HeaderValue?, string?]> = [['NewCat', tmp, `inherit=${OWNERSHIP_TEMPLATE}`]];
      for (const v of s.vars) g.push(['Append', tmp, undefined, v.value as HeaderValue, v.name]);
      if (tmp !== s.name) g.push(['RenameCat', tmp, undefined, s.name]);
      ops.pjsip.push(g);
    }
    for (const role of ['voicemail', 'extensions'] as const) {
      const lines = (o.lines as LineSpec[]).filter((l) => l.role === role);
      if (lines.length > 0) ops[role].push(lines.map((l) => ['Append', l.category, undefined, ['>', ...(Array.isArray(l.value) ? l.value : [l.value as string])], l.var]));
    }
  }
  const out: Array<{ file: string; headers: AmiHeaders }> = [];
  for (const role of FILE_ROLES) {
    let headers: Array<readonly [string, HeaderValue]> = [];
    let n = 0;
    const flush = () => {
      if (n > 0) out.push({ file: FILES[role], headers: [['SrcFilename', FILES[role]], ['DstFilename', FILES[role]], ...headers] });
      headers = [];
      n = 0;
    };
    for (const group of ops[role]) {
      const lines = group.reduce((k, [op, , opt]) => k + (op === 'Append' ? 4 : op === 'RenameCat' || opt ? 3 : 2), 0);
      if (headers.length + lines > 124) flush();
      for (const [op, cat, opt, value, name] of group) {
        const i = String(n++).padStart(6, '0');
        headers.push([`Action-${i}`, op], [`Cat-${i}`, cat]);
        if (opt) headers.push([`Options-${i}`, opt]);
        if (op === 'Append') headers.push([`Var-${i}`, name as string], [`Value-${i}`, value as HeaderValue]);
        if (op === 'RenameCat') headers.push([`Value-${i}`, value as HeaderValue]);
      }
    }
    flush();
  }
  return out;
}

async function rawWrite(): Promise<{ ms: number; messages: number; ops: number }> {
  const p = await freshPbx();
  const batches = rawBatches();
  const c = await connect(p);
  const t0 = performance.now();
  // UpdateConfig cannot create a file: the mailboxes' own file is made first, as infrasec does.
  if ((await c.action('CreateConfig', [['Filename', FILES.voicemail]], signal)).isError) throw new Error('raw CreateConfig failed');
  for (const b of batches) {
    const r = await c.action('UpdateConfig', b.headers, signal);
    if (r.isError) throw new Error(`raw UpdateConfig ${b.file} failed: ${r.message}`);
  }
  for (const role of FILE_ROLES) if (role !== 'confbridge') await c.action('Reload', [['Module', MODULE_OF[role]]], signal);
  const t = ms(t0);
  await c.close();
  await closePbx(p);
  return { ms: t, messages: batches.length, ops: batches.reduce((n, b) => n + b.headers.filter(([k]) => k.startsWith('Action-')).length, 0) };
}

async function infrasecWrite(keep = false): Promise<{ prepare: number; apply: number; ops: number; pbx?: Pbx; rec?: AsteriskReconciler }> {
  const p = await freshPbx();
  const rec = reconcilerFor(p);
  const t0 = performance.now();
  const live = await rec.observe(signal);
  const plan = rec.plan(desired, live, DEFAULT_POLICY);
  const g = guard(plan, DEFAULT_POLICY);
  if (!g.ok) throw new Error(g.reasons.join('; '));
  const prepare = ms(t0);
  const t1 = performance.now();
  const applied = await rec.apply(g.plan, signal);
  const apply = ms(t1);
  const failed = applied.filter((a) => !a.ok);
  if (failed.length > 0) throw new Error(`${failed.length} change(s) failed: ${failed[0]?.error}`);
  const ops = applied.reduce((n, a) => n + a.writes, 0);
  if (keep) return { prepare, apply, ops, pbx: p, rec };
  await rec.close();
  await closePbx(p);
  return { prepare, apply, ops };
}

async function main(): Promise<void> {
  console.log(`infrasec asterisk bench: ${N} extensions (${exts.filter((e) => e.spec.webrtc).length} WebRTC, ${Object.keys(pins).length} with voicemail), ${PAIRS === 2 ? 'ABBA' : 'AB'}, load ${loadavg()[0]?.toFixed(2)}`);

  // Initial apply: raw first, then infrasec (and, with two pairs, infrasec then raw again).
  const raws: number[] = [];
  const applies: number[] = [];
  const prepares: number[] = [];
  let ops = { raw: 0, rawMessages: 0, infrasec: 0 };
  let converged: { pbx: Pbx; rec: AsteriskReconciler } | undefined;
  for (let pair = 0; pair < PAIRS; pair++) {
    const order = pair === 0 ? ['raw', 'infrasec'] : ['infrasec', 'raw'];
    for (const side of order) {
      if (side === 'raw') {
        const r = await rawWrite();
        raws.push(r.ms);
        ops = { ...ops, raw: r.ops, rawMessages: r.messages };
      } else {
        const keep = converged === undefined;
        const r = await infrasecWrite(keep);
        applies.push(r.apply);
        prepares.push(r.prepare);
        ops = { ...ops, infrasec: r.ops };
        if (r.pbx && r.rec) converged = { pbx: r.pbx, rec: r.rec };
      }
      console.log(`  ${side.padEnd(8)} initial write: ${fmt(side === 'raw' ? raws.at(-1)! : applies.at(-1)!)}${side === 'infrasec' ? ` (observe+plan before it: ${fmt(prepares.at(-1)!)})` : ''}`);
    }
  }
  const rawApply = raws.reduce((a, b) => a + b, 0) / raws.length;
  const infApply = applies.reduce((a, b) => a + b, 0) / applies.length;
  console.log(`raw UpdateConfig + Reload     : mean ${fmt(rawApply)}  (${ops.raw} ops in ${ops.rawMessages} UpdateConfig messages)`);
  console.log(`infrasec apply (writes+reload): mean ${fmt(infApply)}  (${ops.infrasec} ops and reloads)`);

  // No-op plan on the converged PBX vs the same reads sent raw over one AMI connection: the five files, then what
  // Asterisk runs (endpoint list and each endpoint's details, mailboxes, infrasec's contexts, where each number lands).
  const { pbx, rec } = converged!;
  const raw = await connect(pbx);
  const numbers = exts.map((e) => e.spec.number);
  const rawRead = async () => {
    const t0 = performance.now();
    const files = await Promise.all([...FILE_ROLES.map((r) => FILES[r]), LAYOUT.voicemailConf].map((f) => raw.action('GetConfig', [['Filename', f], ['Filter', 'TEMPLATES=include']], signal)));
    if (files.some((a) => a.isError)) throw new Error('raw GetConfig failed');
    await Promise.all([
      raw.list('PJSIPShowEndpoints', [], signal),
      ...numbers.map((n) => raw.list('PJSIPShowEndpoint', [['Endpoint', n]], signal)),
      raw.list('VoicemailUsersList', [], signal),
      ...[LAYOUT.context, LAYOUT.messageContext, LAYOUT.includeFrom].map((c) => raw.list('ShowDialPlan', [['Context', c]], signal)),
      ...numbers.map((n) => raw.list('ShowDialPlan', [['Context', LAYOUT.endpointContext], ['Extension', n]], signal)),
    ]);
    return ms(t0);
  };
  const noop = async () => {
    const t0 = performance.now();
    const plan = rec.plan(desired, await rec.observe(signal), DEFAULT_POLICY);
    if (plan.changes.length > 0) throw new Error(`no-op plan has ${plan.changes.length} change(s): ${plan.changes[0]?.kind}/${plan.changes[0]?.name} ${plan.changes[0]?.reason}`);
    return ms(t0);
  };
  await rawRead();
  await noop();
  const reads: number[] = [];
  const plans: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    if (i % 2 === 0) {
      reads.push(await rawRead());
      plans.push(await noop());
    } else {
      plans.push(await noop());
      reads.push(await rawRead());
    }
  }
  await raw.close();
  await rec.close();
  await closePbx(pbx);
  const readMed = median(reads);
  const planMed = median(plans);
  const paired = median(reads.map((r, i) => (plans[i] ?? NaN) / r));
  console.log(`raw reads (files + running)   : median ${fmt(readMed)} of ${ROUNDS}  [${reads.map(fmt).join(', ')}]`);
  console.log(`infrasec no-op observe+plan   : median ${fmt(planMed)} of ${ROUNDS}  [${plans.map(fmt).join(', ')}]`);
  console.log('');
  console.log(`no-op plan / raw read   = ${paired.toFixed(2)}x median of paired rounds, ${(planMed / readMed).toFixed(2)}x of medians  (target <= 1.5x)`);
  console.log(`initial apply / raw     = ${(infApply / rawApply).toFixed(2)}x  (target <= 1.2x)`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
