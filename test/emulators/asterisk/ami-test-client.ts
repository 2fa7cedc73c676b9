// Minimal raw AMI client for the emulator's tests: exact bytes in, CRLF-framed messages out, no validation.
import * as net from 'node:net';

export interface AmiReply {
  /** The message bytes (binary string) without the terminating empty line. */
  raw: string;
  lines: string[];
  get(name: string): string | undefined;
  getAll(name: string): string[];
}

export function parseReply(raw: string): AmiReply {
  const lines = raw.split('\r\n');
  const pairs = lines.map((l) => {
    const i = l.indexOf(': ');
    return i < 0 ? ([l, undefined] as const) : ([l.slice(0, i), l.slice(i + 2)] as const);
  });
  return {
    raw,
    lines,
    get: (name) => pairs.find(([k, v]) => v !== undefined && k.toLowerCase() === name.toLowerCase())?.[1],
    getAll: (name) => pairs.filter(([k, v]) => v !== undefined && k.toLowerCase() === name.toLowerCase()).map(([, v]) => v as string),
  };
}

/** Build an action from ordered header pairs (CRLF framing, blank line terminator). */
export function frame(headers: Array<[string, string]>): string {
  return headers.map(([k, v]) => `${k}: ${v}\r\n`).join('') + '\r\n';
}

export class RawAmiClient {
  /** Everything received so far, as a binary string. */
  received = '';
  /** Read position of nextMessage(). */
  private cursor = 0;
  closed = false;
  private waiters: Array<() => void> = [];
  private seq = 0;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.received += d.toString('latin1');
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawAmiClient> {
    return new Promise((resolve, reject) => {
      const s = net.createConnection({ port, host }, () => resolve(new RawAmiClient(s)));
      s.once('error', reject);
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Wait until `test` holds on the received bytes (or the connection closes / the timeout passes). */
  async waitFor(test: () => boolean, timeoutMs = 3000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!test()) {
      if (this.closed) return test();
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return true;
  }

  send(data: string | Buffer): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /** Read the banner line. */
  async banner(): Promise<string> {
    await this.waitFor(() => this.received.indexOf('\r\n', this.cursor) >= 0);
    const end = this.received.indexOf('\r\n', this.cursor);
    if (end < 0) throw new Error('no banner');
    const line = this.received.slice(this.cursor, end);
    this.cursor = end + 2;
    return line;
  }

  /** Next CRLF CRLF terminated message. */
  async nextMessage(timeoutMs = 3000): Promise<AmiReply> {
    const ok = await this.waitFor(() => this.received.indexOf('\r\n\r\n', this.cursor) >= 0, timeoutMs);
    if (!ok) throw new Error(`no message within ${timeoutMs} ms; pending: ${JSON.stringify(this.received.slice(this.cursor))}`);
    const end = this.received.indexOf('\r\n\r\n', this.cursor);
    const raw = this.received.slice(this.cursor, end);
    this.cursor = end + 4;
    return parseReply(raw);
  }

  /** Messages received after the cursor within a quiet period (used to prove that nothing else arrives). */
  async drain(quietMs = 150): Promise<string> {
    let last = this.received.length;
    for (;;) {
      await new Promise((r) => setTimeout(r, quietMs));
      if (this.received.length === last) break;
      last = this.received.length;
    }
    const rest = this.received.slice(this.cursor);
    this.cursor = this.received.length;
    return rest;
  }

  nextId(): string {
    this.seq++;
    return `t${this.seq}`;
  }

  /** Send an action with a fresh ActionID and return its response (events before it are skipped). */
  async action(name: string, headers: Array<[string, string]> = []): Promise<AmiReply> {
    const id = this.nextId();
    this.send(frame([['Action', name], ['ActionID', id], ...headers]));
    for (;;) {
      const msg = await this.nextMessage();
      if (msg.get('Response') !== undefined && msg.get('ActionID') === id) return msg;
    }
  }

  /** Send a list action and collect ack, items and completion (resolves on Error or a Success without EventList). */
  async list(name: string, headers: Array<[string, string]> = []): Promise<{ ack: AmiReply; items: AmiReply[]; complete?: AmiReply }> {
    const ack = await this.action(name, headers);
    const id = ack.get('ActionID');
    if (ack.get('Response') !== 'Success' || ack.get('EventList') !== 'start') return { ack, items: [] };
    const items: AmiReply[] = [];
    for (;;) {
      const msg = await this.nextMessage();
      if (msg.get('ActionID') !== id) continue;
      if (msg.get('EventList') === 'Complete') return { ack, items, complete: msg };
      items.push(msg);
    }
  }

  async login(username = 'admin', secret = 'amipass', events = 'off'): Promise<AmiReply> {
    await this.banner();
    return this.action('Login', [
      ['Username', username],
      ['Secret', secret],
      ['Events', events],
    ]);
  }

  close(): void {
    this.socket.destroy();
  }
}
