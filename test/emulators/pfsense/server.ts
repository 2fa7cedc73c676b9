// The HTTPS front of the emulator: TLS, gates, auth, content negotiation, the config write lock, counters, dispatch.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import * as path from 'node:path';
import { createOne, type CrudContext, deleteMany, deleteOne, readMany, readOne, replaceAll, updateOne } from './crud.js';
import { ApiError, envelope } from './envelope.js';
import type { Method } from './model.js';
import type { FirewallQuirks } from './models-firewall.js';
import { generateCa, issueCertificate } from './pki.js';
import { buildRoutes, type Route } from './routes.js';
import { cloneFirewall, emptyState, type EmulatorState, type Obj } from './state.js';

export interface PfSenseEmulatorOptions {
  host?: string;
  port?: number;
  /** Where the TLS CA/cert and state.json are kept (optional: in memory otherwise). */
  stateDir?: string;
  /** Fills the state before start (see seed.ts). */
  seed?: (emu: PfSenseEmulator) => Promise<void>;
  quirks?: Partial<FirewallQuirks>;
  /** How long a writer waits for the config lock before 503 (pfSense: about 60 s). */
  lockWaitMs?: number;
  /** How long each API write holds the lock, so that overlapping writes collide. */
  writeLatencyMs?: number;
  /** How long an async /firewall/apply takes before pf runs the new rules. */
  applyDelayMs?: number;
  /** Unix seconds; defaults to the wall clock. */
  now?: () => number;
  /** Write state.json after each write (default true when stateDir is set). */
  persist?: boolean;
}

export interface EmulatorStats {
  requests: number;
  reads: number;
  /** Every non-GET API request received (successful or not), apply excluded. */
  writeRequests: number;
  /** Writes that changed the config. */
  writes: number;
  /** POST /firewall/apply calls. */
  applies: number;
  lockRejections: number;
  byRoute: Record<string, number>;
}

export interface RequestInfo {
  method: string;
  path: string;
  params: Obj;
}

/** What a hook may ask: drop the connection before handling, or after handling (the write happened, no reply). */
export type RequestFate = 'drop-before' | 'drop-after' | void;

const ADMIN_PASSWORD = 'pfsense';
const JWT_SECRET = randomBytes(32);

function newStats(): EmulatorStats {
  return { requests: 0, reads: 0, writeRequests: 0, writes: 0, applies: 0, lockRejections: 0, byRoute: {} };
}

/** Urlencoded type guessing: true/false, null, all-digit → int, digits with a dot → float. */
export function guessType(v: string): unknown {
  if (v === 'true') return true;
  if (v === 'false') return false;
  if (v === 'null') return null;
  if (/^-?\d+$/.test(v)) return Number(v);
  if (/^-?\d+\.\d+$/.test(v)) return Number(v);
  return v;
}

function parseUrlencoded(text: string): Obj {
  const out: Obj = {};
  for (const [k, v] of new URLSearchParams(text)) {
    const key = k.endsWith('[]') ? k.slice(0, -2) : k;
    const value = guessType(v);
    if (k.endsWith('[]')) ((out[key] ??= []) as unknown[]).push(value);
    else if (key in out) out[key] = Array.isArray(out[key]) ? [...(out[key] as unknown[]), value] : [out[key], value];
    else out[key] = value;
  }
  return out;
}

class ConfigLock {
  private held = false;
  private waiters: (() => void)[] = [];
  acquire(waitMs: number): Promise<boolean> {
    if (!this.held) {
      this.held = true;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const grant = () => {
        clearTimeout(timer);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== grant);
        resolve(false);
      }, waitMs);
      this.waiters.push(grant);
    });
  }
  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.held = false;
  }
}

export class PfSenseEmulator {
  readonly state: EmulatorState = emptyState();
  stats: EmulatorStats = newStats();
  /** Called before each API request; may write out of band (a foreign writer) or drop the connection. */
  beforeRequest?: (info: RequestInfo) => RequestFate | Promise<RequestFate>;
  host = '127.0.0.1';
  port = 0;
  /** PEM of the CA that signed the HTTPS certificate: what clients must trust. */
  caPem = '';
  caFile = '';
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private readonly lock = new ConfigLock();
  private readonly routes: Map<string, Route>;
  readonly quirks: FirewallQuirks;
  private readonly pendingApplies = new Set<NodeJS.Timeout>();

  constructor(readonly options: PfSenseEmulatorOptions = {}) {
    this.quirks = { portForwardSort: true, aliasDetailAutofill: false, rulesSetDirty: false, ...options.quirks };
    this.routes = buildRoutes(this.quirks);
    this.state.users.push({
      name: 'admin', password: ADMIN_PASSWORD, scope: 'system', priv: ['page-all'], disabled: false, descr: 'System Administrator',
      expires: '', cert: [], uid: 0, authorizedkeys: '', ipsecpsk: '',
    });
  }

  get url(): string {
    return `https://${this.host}:${this.port}`;
  }

  now(): number {
    return this.options.now ? this.options.now() : Math.floor(Date.now() / 1000);
  }

  /** Counters back to zero (tests read them after the action they measure). */
  resetStats(): void {
    this.stats = newStats();
  }

  /** Takes the config lock as another writer would (GUI save, another client). Returns the release. */
  async holdLock(): Promise<() => void> {
    await this.lock.acquire(Number.MAX_SAFE_INTEGER);
    let released = false;
    return () => {
      if (!released) {
        released = true;
        this.lock.release();
      }
    };
  }

  /** Destroys every open client connection; the server keeps listening. */
  dropConnections(): void {
    for (const s of this.sockets) s.destroy();
  }

  /** A filter reload: pf now enforces the config (GUI "Apply changes" also clears the flags). */
  reloadFilter(clearPending: boolean): void {
    this.state.running = cloneFirewall(this.state.config);
    if (clearPending) this.state.pending.clear();
  }

  /** A write as the GUI makes it (no API counters; rules mark `filter` dirty as GUI pages do). */
  async gui(method: 'POST' | 'PATCH' | 'DELETE', endpoint: string, params: Obj): Promise<Obj> {
    const route = this.routes.get(`/api/v2/${endpoint}`);
    if (!route) throw new Error(`no endpoint ${endpoint}`);
    const ctx = this.context('admin', '127.0.0.1');
    this.attachParent(route, params, ctx);
    const run = method === 'POST' ? createOne : method === 'PATCH' ? updateOne : deleteOne;
    const out = await run(route.model, params, ctx);
    if (route.model.name === 'FirewallRule') this.state.pending.add('filter');
    this.persist();
    return out;
  }

  private context(user: string, clientIp: string): CrudContext {
    return { state: this.state, now: () => this.now(), user, clientIp };
  }

  async start(): Promise<void> {
    this.host = this.options.host ?? '127.0.0.1';
    const tls = await this.tlsMaterial();
    this.loadPersisted();
    if (this.options.seed && !this.restored) await this.options.seed(this);
    this.persist();
    this.server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
      void this.handle(req, res);
    });
    this.server.on('secureConnection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.options.port ?? 0, this.host, () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const t of this.pendingApplies) clearTimeout(t);
    this.pendingApplies.clear();
    if (!this.server) return;
    const server = this.server;
    this.server = undefined;
    this.dropConnections();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private restored = false;

  private loadPersisted(): void {
    const dir = this.options.stateDir;
    if (!dir || !existsSync(path.join(dir, 'state.json'))) return;
    const saved = JSON.parse(readFileSync(path.join(dir, 'state.json'), 'utf8')) as Obj;
    Object.assign(this.state, saved, { pending: new Set(saved.pending as string[]), packages: new Set(saved.packages as string[]) });
    this.restored = true;
  }

  private persist(): void {
    const dir = this.options.stateDir;
    if (!dir || this.options.persist === false) return;
    const plain = { ...this.state, pending: [...this.state.pending], packages: [...this.state.packages] };
    writeFileSync(path.join(dir, 'state.json'), JSON.stringify(plain, null, 1), { mode: 0o600 });
  }

  private async tlsMaterial(): Promise<{ key: string; cert: string }> {
    const dir = this.options.stateDir;
    if (dir) mkdirSync(dir, { recursive: true });
    const files = dir ? ['tls-ca.pem', 'tls-cert.pem', 'tls-key.pem'].map((f) => path.join(dir, f)) : [];
    if (dir && files.every((f) => existsSync(f))) {
      this.caPem = readFileSync(files[0]!, 'utf8');
      this.caFile = files[0]!;
      return { cert: readFileSync(files[1]!, 'utf8'), key: readFileSync(files[2]!, 'utf8') };
    }
    const key = { keytype: 'ECDSA' as const, keylen: 0, ecname: 'prime256v1', digest: 'sha256' };
    const ca = await generateCa({ dn: { O: 'pfSense emulator', CN: 'pfSense emulator webConfigurator CA' }, lifetimeDays: 30, key });
    const host = this.options.host ?? '127.0.0.1';
    const leaf = await issueCertificate({
      ca, dn: { O: 'pfSense emulator', CN: 'pfSense-emulator.localdomain' }, lifetimeDays: 30, key, type: 'server',
      sans: { ip: [...new Set(['127.0.0.1', host])], dns: ['localhost'] },
    });
    this.caPem = ca.crt;
    if (dir) {
      writeFileSync(files[0]!, ca.crt);
      writeFileSync(files[1]!, leaf.crt);
      writeFileSync(files[2]!, leaf.prv, { mode: 0o600 });
      this.caFile = files[0]!;
    }
    return { key: leaf.prv, cert: leaf.crt };
  }

  private send(res: ServerResponse, code: number, responseId: string, message: string, data: unknown, headers: Record<string, string> = {}): void {
    if (res.destroyed || res.headersSent) return;
    const body = JSON.stringify(envelope(code, responseId, message, data));
    res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
    res.end(body);
  }

  private async readBody(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += (c as Buffer).length;
      if (size > 16 * 1024 * 1024) throw new ApiError(413 as number, 'REQUEST_TOO_LARGE', 'Request body too large.');
      chunks.push(c as Buffer);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.stats.requests++;
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'https://emulator');
    const clientIp = req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1';
    let locked = false;
    try {
      const rawBody = await this.readBody(req);
      // Gates that come before authentication.
      if (!this.state.settings.enabled) throw new ApiError(503, 'ENDPOINT_REST_API_IS_NOT_ENABLED', 'The REST API is not enabled.');
      if (this.state.settings.read_only && method !== 'GET') {
        throw new ApiError(405, 'ENDPOINT_METHOD_NOT_ALLOWED_IN_READ_ONLY_MODE', 'The REST API is in read only mode.');
      }
      const user = this.authenticate(req, url.pathname);
      const { params, body } = this.decode(req, method, url, rawBody);
      const accept = this.negotiateAccept(req);
      const fate = await this.beforeRequest?.({ method, path: url.pathname, params });
      if (fate === 'drop-before') {
        req.socket.destroy();
        return;
      }
      const routeKey = `${method} ${url.pathname}`;
      this.stats.byRoute[routeKey] = (this.stats.byRoute[routeKey] ?? 0) + 1;
      const isApply = url.pathname === '/api/v2/firewall/apply';
      if (method === 'GET') this.stats.reads++;
      else if (!isApply) this.stats.writeRequests++;
      if (method !== 'GET' && !isApply && !url.pathname.startsWith('/api/v2/auth/')) {
        if (this.userPrivileges(user).includes('user-config-readonly')) {
          throw new ApiError(403, 'AUTH_AUTHORIZATION_FAILED', 'User does not have sufficient privileges to access this resource.');
        }
        locked = await this.lock.acquire(this.options.lockWaitMs ?? 60_000);
        if (!locked) {
          this.stats.lockRejections++;
          throw new ApiError(503, 'MODEL_WRITE_CONFIG_LOCKED', 'The configuration is locked by another process. Try again later.', [], { 'retry-after': '5' });
        }
        if (this.options.writeLatencyMs) await new Promise((r) => setTimeout(r, this.options.writeLatencyMs));
      }
      const out = await this.dispatch(method, url.pathname, params, body, user, clientIp, accept);
      if (method !== 'GET' && !isApply) {
        this.stats.writes++;
        this.persist();
      }
      if (fate === 'drop-after') {
        req.socket.destroy();
        return;
      }
      if (accept === 'application/octet-stream') {
        // The request ran (writes included); only now is the Accept refused (errata 7).
        throw new ApiError(406, 'ENDPOINT_ACCEPT_NOT_SUPPORTED', 'This endpoint does not support the requested Accept type.');
      }
      this.send(res, 200, 'SUCCESS', '', out);
    } catch (e) {
      if (e instanceof ApiError) {
        this.send(res, e.code, e.responseId, e.message, e.data, e.headers);
      } else {
        this.send(res, 500, 'ENDPOINT_RECEIVED_UNEXPECTED_ERROR', `An unexpected error occurred: ${e instanceof Error ? e.message : String(e)}`, []);
      }
    } finally {
      if (locked) this.lock.release();
    }
  }

  private userPrivileges(name: string): string[] {
    return (this.state.users.find((u) => u.name === name)?.priv as string[] | undefined) ?? [];
  }

  /** Walks the enabled methods in order; the first that claims the request decides (contract section 1). */
  private authenticate(req: IncomingMessage, pathname: string): string {
    const methods = this.state.settings.auth_methods;
    const authz = req.headers.authorization ?? '';
    // Key and JWT creation take Basic only.
    const basicOnly = pathname === '/api/v2/auth/jwt' || pathname === '/api/v2/auth/key';
    for (const m of basicOnly ? ['BasicAuth'] : methods) {
      if (m === 'BasicAuth' && authz.startsWith('Basic ')) {
        const decoded = Buffer.from(authz.slice(6), 'base64').toString('utf8');
        const sep = decoded.indexOf(':');
        const name = decoded.slice(0, sep);
        const pass = decoded.slice(sep + 1);
        const u = this.state.users.find((x) => x.name === name);
        if (!u || u.disabled || sep < 0 || !safeEqual(String(u.password), pass)) throw authFailed(true);
        this.authorize(name);
        return name;
      }
      if (m === 'KeyAuth' && typeof req.headers['x-api-key'] === 'string') {
        const key = req.headers['x-api-key'];
        const hit = this.state.apiKeys.find((k) => safeEqual(String(k.hash), createHash(String(k.hash_algo)).update(key).digest('hex')));
        if (hit) {
          this.authorize(String(hit.username));
          return String(hit.username);
        }
      }
      if (m === 'JWTAuth' && authz.startsWith('Bearer ')) {
        const name = this.verifyJwt(authz.slice(7));
        if (name) {
          this.authorize(name);
          return name;
        }
      }
    }
    throw authFailed(authz.startsWith('Basic ') || methods.includes('BasicAuth'));
  }

  private authorize(name: string): void {
    const privs = this.userPrivileges(name);
    if (!privs.includes('page-all') && !privs.includes('user-config-readonly')) {
      throw new ApiError(403, 'AUTH_AUTHORIZATION_FAILED', 'User does not have sufficient privileges to access this resource.');
    }
  }

  private issueJwt(user: string): string {
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const head = b64({ alg: 'HS256', typ: 'JWT' });
    const now = this.now();
    const payload = b64({ iss: 'pfsense-emulator', data: user, iat: now, exp: now + this.state.settings.jwt_exp });
    const sig = createHmac('sha256', JWT_SECRET).update(`${head}.${payload}`).digest('base64url');
    return `${head}.${payload}.${sig}`;
  }

  private verifyJwt(token: string): string | undefined {
    const [head, payload, sig] = token.split('.');
    if (!head || !payload || !sig) return undefined;
    const expected = createHmac('sha256', JWT_SECRET).update(`${head}.${payload}`).digest('base64url');
    if (!safeEqual(expected, sig)) return undefined;
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { data: string; exp: number };
    return claims.exp >= this.now() ? claims.data : undefined;
  }

  /** Content-Type decides where parameters come from (section 1 and errata 6). */
  private decode(req: IncomingMessage, method: string, url: URL, raw: string): { params: Obj; body: unknown } {
    const header = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    const type = header === '' ? (method === 'GET' || method === 'DELETE' ? 'application/x-www-form-urlencoded' : 'application/json') : header;
    if (type === 'application/json') {
      // With JSON every parameter comes from the body; the query string is not read.
      if (raw.trim() === '') return { params: {}, body: {} };
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        throw new ApiError(400, 'JSON_CONTENT_HANDLER_COULD_NOT_DECODE_JSON', 'Unable to decode JSON request data.');
      }
      const params = body && typeof body === 'object' && !Array.isArray(body) ? (body as Obj) : {};
      return { params, body };
    }
    if (type === 'application/x-www-form-urlencoded') {
      const params = method === 'GET' || method === 'DELETE' ? parseUrlencoded(url.search.slice(1)) : parseUrlencoded(raw);
      return { params, body: params };
    }
    if (type === 'application/octet-stream') throw new ApiError(415, 'CONTENT_HANDLER_CANNOT_DECODE_CONTENT', 'Cannot decode content of type application/octet-stream.');
    throw new ApiError(415, 'CONTENT_HANDLER_DECODE_NOT_FOUND', `No content handler can decode \`${type}\`.`);
  }

  private negotiateAccept(req: IncomingMessage): string {
    const accept = (req.headers.accept ?? '').trim().toLowerCase();
    if (accept === '' || accept === 'application/json' || accept === '*/*') return 'application/json';
    if (accept === 'application/octet-stream') return accept;
    if (accept === 'application/x-www-form-urlencoded') throw new ApiError(406, 'CONTENT_HANDLER_CANNOT_ENCODE_CONTENT', 'Cannot encode content of type application/x-www-form-urlencoded.');
    throw new ApiError(406, 'CONTENT_HANDLER_ENCODE_NOT_FOUND', `No content handler can encode \`${accept}\`.`);
  }

  private async dispatch(method: string, pathname: string, params: Obj, body: unknown, user: string, clientIp: string, accept: string): Promise<unknown> {
    const ctx = this.context(user, clientIp);
    switch (pathname) {
      case '/api/v2/firewall/apply':
        return this.apply(method, params);
      case '/api/v2/system/restapi/settings':
        return this.settings(method, params);
      case '/api/v2/interfaces':
        if (method !== 'GET') throw methodNotAllowed();
        return this.state.interfaces.map((i, id) => ({ id: i.id, descr: i.descr, if: i.if, enable: true, typev4: 'staticv4', ipaddr: i.ipaddr, subnet: i.subnet, _index: id }));
      case '/api/v2/auth/key':
        return this.apiKey(method, params, user);
      case '/api/v2/auth/keys':
        if (method !== 'GET') throw methodNotAllowed();
        return this.state.apiKeys.map((k, id) => ({ id, username: k.username, descr: k.descr, hash_algo: k.hash_algo, length_bytes: k.length_bytes }));
      case '/api/v2/auth/jwt':
        if (method !== 'POST') throw methodNotAllowed();
        return { token: this.issueJwt(user) };
    }
    const route = this.routes.get(pathname);
    if (!route) throw new ApiError(404, 'ENDPOINT_NOT_FOUND', `Endpoint \`${pathname}\` does not exist.`);
    const { model, plural } = route;
    const allowed: readonly Method[] = plural ? model.plural : model.singular;
    if (!allowed.includes(method as Method)) throw methodNotAllowed();
    this.attachParent(route, params, ctx);
    if (model.createHandler) return (await model.createHandler(params, ctx, accept)).data;
    if (plural) {
      if (method === 'GET') return readMany(model, params, ctx);
      if (method === 'DELETE') return deleteMany(model, params, ctx);
      return replaceAll(model, body, params, ctx);
    }
    if (method === 'GET') return readOne(model, params, ctx);
    if (method === 'POST') return createOne(model, params, ctx);
    if (method === 'PATCH') return updateOne(model, params, ctx);
    return deleteOne(model, params, ctx);
  }

  /** Child models (CRL revoked certificates) work inside the parent named by `parent_id`. */
  private attachParent(route: Route, params: Obj, ctx: CrudContext): void {
    const model = route.model;
    if (!model.parentModel) return;
    const parentId = params.parent_id;
    if (parentId === undefined || parentId === null) throw new ApiError(400, 'MODEL_REQUIRES_PARENT_ID', 'Field `parent_id` is required.');
    const parent = Number.isInteger(parentId) ? model.parentModel.list(this.state)[parentId as number] : undefined;
    if (!parent) throw new ApiError(404, 'MODEL_PARENT_OBJECT_NOT_FOUND', `Parent object with ID \`${String(parentId)}\` does not exist.`);
    ctx.parent = parent;
  }

  private applyStatus(): Obj {
    return { applied: this.state.pending.size === 0, pending_subsystems: [...this.state.pending].sort() };
  }

  private apply(method: string, params: Obj): Obj {
    if (method === 'GET') return this.applyStatus();
    if (method !== 'POST') throw methodNotAllowed();
    this.stats.applies++;
    const status = this.applyStatus();
    // POST /firewall/apply reloads the filter but clears no pending flag (errata 13).
    if (params.async === false || !this.options.applyDelayMs) {
      this.reloadFilter(false);
    } else {
      const t = setTimeout(() => {
        this.pendingApplies.delete(t);
        this.reloadFilter(false);
      }, this.options.applyDelayMs);
      this.pendingApplies.add(t);
    }
    return status;
  }

  private settings(method: string, params: Obj): Obj {
    if (method === 'PATCH') {
      const s = this.state.settings as unknown as Obj;
      for (const [k, v] of Object.entries(params)) {
        if (!(k in s)) continue;
        if (k === 'auth_methods') {
          const ok = ['BasicAuth', 'KeyAuth', 'JWTAuth'];
          if (!Array.isArray(v) || v.length === 0 || !v.every((x) => ok.includes(x as string))) throw new ApiError(400, 'FIELD_INVALID_CHOICE', 'Field `auth_methods` must hold BasicAuth, KeyAuth or JWTAuth.');
        }
        if (k === 'represent_interfaces_as' && !['id', 'descr', 'if'].includes(v as string)) throw new ApiError(400, 'FIELD_INVALID_CHOICE', 'Field `represent_interfaces_as` must be one of [id, descr, if].');
        if (typeof s[k] !== typeof v && !(Array.isArray(s[k]) && Array.isArray(v))) throw new ApiError(400, 'FIELD_INVALID_TYPE', `Field \`${k}\` has the wrong type.`);
        s[k] = v;
      }
    } else if (method !== 'GET') throw methodNotAllowed();
    return { ...this.state.settings };
  }

  private apiKey(method: string, params: Obj, user: string): Obj {
    if (method === 'DELETE') {
      const id = params.id;
      if (!Number.isInteger(id)) throw new ApiError(400, 'MODEL_REQUIRES_ID', 'Field `id` is required.');
      const k = this.state.apiKeys[id as number];
      if (!k) throw new ApiError(404, 'MODEL_OBJECT_NOT_FOUND', `Object with ID \`${String(id)}\` does not exist.`);
      this.state.apiKeys.splice(id as number, 1);
      return { id, username: k.username, descr: k.descr, hash_algo: k.hash_algo, length_bytes: k.length_bytes };
    }
    if (method !== 'POST') throw methodNotAllowed();
    const lengthBytes = params.length_bytes ?? 24;
    const hashAlgo = params.hash_algo ?? 'sha256';
    if (![16, 24, 32, 64].includes(lengthBytes as number)) throw new ApiError(400, 'FIELD_INVALID_CHOICE', 'Field `length_bytes` must be one of [16, 24, 32, 64].');
    if (!['sha256', 'sha384', 'sha512'].includes(hashAlgo as string)) throw new ApiError(400, 'FIELD_INVALID_CHOICE', 'Field `hash_algo` must be one of [sha256, sha384, sha512].');
    return this.addApiKey(user, String(params.descr ?? ''), lengthBytes as number, hashAlgo as string);
  }

  /** Creates an API key for `user`; the plain key is only in the returned object. */
  addApiKey(user: string, descr: string, lengthBytes = 24, hashAlgo = 'sha256', key = randomBytes(lengthBytes).toString('hex')): Obj {
    const record = { username: user, descr, hash_algo: hashAlgo, length_bytes: lengthBytes, hash: createHash(hashAlgo).update(key).digest('hex') };
    this.state.apiKeys.push(record);
    this.persist();
    return { id: this.state.apiKeys.length - 1, username: user, descr, hash_algo: hashAlgo, length_bytes: lengthBytes, key };
  }
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A failed login; Basic's also carries the realm challenge. */
const authFailed = (basic: boolean) =>
  new ApiError(401, 'AUTH_AUTHENTICATION_FAILED', 'Authentication failed.', [], basic ? { 'www-authenticate': 'Basic realm="Login for pfSense REST API"' } : {});
const methodNotAllowed = () => new ApiError(405, 'ENDPOINT_METHOD_NOT_ALLOWED', 'Resource does not support the requested method.');

/** Starts an emulator on 127.0.0.1 (port 0 = ephemeral). */
export async function startPfSenseEmulator(options: PfSenseEmulatorOptions = {}): Promise<PfSenseEmulator> {
  const emu = new PfSenseEmulator(options);
  await emu.start();
  return emu;
}

export { ADMIN_PASSWORD };
