// The operations HTTP server (node:http): /healthz, /readyz, /metrics, /status, /drift and POST /webhook, with an optional bearer token.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { StatusBoard } from '../controller/status.ts';
import { renderDriftHtml, renderDriftJson, renderDriftMarkdown, type DriftReport } from '../report/drift.ts';
import { constantTimeEqual, verifyWebhook } from '../sources/webhook.ts';
import type { ControllerMetrics } from './metrics.ts';

/** What the server reads from the controller and the one thing it may ask of it. */
export interface OpsTarget {
  readonly status: StatusBoard;
  readonly driftReport: DriftReport;
  trigger(reason: string): void;
}

export interface OpsServerOptions {
  /** `host:port`, `[v6]:port`; port 0 picks a free one. */
  readonly listen: string;
  readonly target: OpsTarget;
  readonly metrics: ControllerMetrics;
  readonly logger: Logger;
  /** Required on every endpoint but the probes (/healthz, /readyz) and the webhook, which has its own signature. */
  readonly bearerToken?: string;
  readonly webhookSecret?: string;
  readonly maxBodyBytes?: number;
}

export interface OpsServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Pure: splits a listen address. */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(listen.trim());
  if (!m) throw new Error(`listen address "${listen}" is not host:port`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`listen port ${port} is out of range`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

/** Pure: which rendering of the drift report a request asks for (?format= wins over Accept). */
export function driftFormat(query: string | null, accept: string | undefined): 'json' | 'html' | 'markdown' {
  if (query === 'html' || query === 'json' || query === 'markdown') return query;
  if (query === 'md') return 'markdown';
  const a = (accept ?? '').toLowerCase();
  if (a.includes('text/html')) return 'html';
  if (a.includes('text/markdown')) return 'markdown';
  return 'json';
}

export async function startOpsServer(opts: OpsServerOptions): Promise<OpsServer> {
  const { host, port } = parseListen(opts.listen);
  const maxBody = opts.maxBodyBytes ?? 1024 * 1024;
  const log = opts.logger.child({ component: 'http' });

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      log.error({ event: 'http.error', path: pathOf(req), error: (err as Error).message }, 'request failed');
      if (!res.headersSent) send(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';

    if (path === '/webhook') {
      if (method !== 'POST') return send(res, 405, { error: 'use POST' }, { allow: 'POST' });
      return webhook(req, res);
    }
    const routes: Record<string, true> = { '/healthz': true, '/readyz': true, '/metrics': true, '/status': true, '/drift': true };
    if (!routes[path]) return send(res, 404, { error: 'not found' });
    if (method !== 'GET' && method !== 'HEAD') return send(res, 405, { error: 'use GET' }, { allow: 'GET, HEAD' });
    if (path === '/healthz') return send(res, 200, { status: 'ok' });
    if (path === '/readyz') {
      const r = opts.target.status.ready();
      return send(res, r.ready ? 200 : 503, r.ready ? { status: 'ready' } : { status: 'not ready', waitingFor: r.waiting, stuck: r.stuck });
    }
    if (opts.bearerToken && !authorized(req.headers['authorization'], opts.bearerToken)) {
      return send(res, 401, { error: 'bearer token required' }, { 'www-authenticate': 'Bearer realm="infrasec"' });
    }
    if (path === '/metrics') {
      const body = await opts.metrics.registry.metrics();
      res.writeHead(200, { 'content-type': opts.metrics.registry.contentType });
      res.end(body);
      return;
    }
    if (path === '/status') return send(res, 200, opts.target.status.snapshot());
    const format = driftFormat(url.searchParams.get('format'), req.headers['accept']);
    const report = opts.target.driftReport;
    const [type, body] =
      format === 'html' ? ['text/html; charset=utf-8', renderDriftHtml(report)]
      : format === 'markdown' ? ['text/markdown; charset=utf-8', renderDriftMarkdown(report)]
      : ['application/json', renderDriftJson(report)];
    res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store', ...(format === 'html' ? { 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'" } : {}) });
    res.end(body);
  }

  async function webhook(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!opts.webhookSecret) {
      opts.target.status.webhook('disabled');
      return send(res, 404, { error: 'webhook disabled: no webhook secret configured' });
    }
    const body = await readBody(req, maxBody);
    if (body === undefined) {
      opts.target.status.webhook('too-large');
      // The rest of the body is not read: close the connection rather than leave it to be parsed as a next request.
      return send(res, 413, { error: `body larger than ${maxBody} bytes` }, { connection: 'close' });
    }
    const verdict = verifyWebhook(req.headers, body, opts.webhookSecret);
    if (!verdict.ok) {
      opts.target.status.webhook('unauthorized');
      log.warn({ event: 'webhook.rejected', reason: verdict.reason, remote: req.socket.remoteAddress }, 'webhook refused');
      return send(res, 401, { error: 'invalid or missing webhook signature' });
    }
    opts.target.status.webhook('accepted');
    log.info({ event: 'webhook.accepted', forge: verdict.forge }, 'webhook accepted; fetching');
    opts.target.trigger(`webhook:${verdict.forge}`);
    send(res, 202, { accepted: true });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  log.info({ event: 'http.listening', address: `${shownHost}:${addr.port}` }, 'operations endpoints listening');
  return {
    url: `http://${shownHost}:${addr.port}`,
    port: addr.port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeIdleConnections();
      }),
  };
}

function authorized(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
  return m !== null && constantTimeEqual(m[1]!.trim(), token);
}

function pathOf(req: IncomingMessage): string {
  return (req.url ?? '/').split('?')[0]!;
}

/** The raw body, or undefined when it exceeds `max` (the rest is not read). */
async function readBody(req: IncomingMessage, max: number): Promise<Uint8Array | undefined> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > max) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > max) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = `${JSON.stringify(body, null, 2)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers });
  res.end(text);
}
