// AMI wire framing: line splitting (CRLF or bare LF, 1024-byte lines, NUL), 128-header messages, header lookup, replies.
import { astSkipBlanks, asciiLower } from './c-strings.js';

/** sizeof(inbuf) - 1: a line (with its terminator) must fit in the first 1024 bytes of the input buffer. */
export const MAX_LINE_BYTES = 1024;
/** AST_MAX_MANHEADERS */
export const MAX_HEADERS = 128;

export const TOO_MANY_LINES = 'Too many lines in message or allocation failure';
export const LINE_TOO_LONG = 'Failed to parse message: line too long';

export interface AmiMessage {
  /** Raw header lines as received (binary strings), in order. */
  headers: string[];
}

export type InboundEvent =
  | { kind: 'message'; message: AmiMessage }
  | { kind: 'error'; message: AmiMessage; error: string };

/**
 * Incremental reader reproducing get_input()/do_message(): feed bytes, receive complete messages or framing errors.
 * The session survives both error kinds.
 */
export class MessageReader {
  private buf: Buffer = Buffer.alloc(0);
  private headers: string[] = [];
  private hdrLoss = false;
  private lineTooLong = false;

  push(chunk: Buffer): InboundEvent[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: InboundEvent[] = [];
    for (;;) {
      const window = this.buf.subarray(0, MAX_LINE_BYTES);
      const lf = window.indexOf(0x0a);
      if (lf < 0) {
        if (this.buf.length >= MAX_LINE_BYTES) {
          // No line end in a full buffer: discard it but keep the last byte (it may be the CR of a CRLF).
          this.buf = this.buf.subarray(MAX_LINE_BYTES - 1);
          this.lineTooLong = true;
          continue;
        }
        return out;
      }
      let end = lf;
      if (lf > 0 && this.buf[lf - 1] === 0x0d) end = lf - 1;
      let line = this.buf.subarray(0, end).toString('latin1');
      this.buf = this.buf.subarray(lf + 1);
      const nul = line.indexOf('\0');
      if (nul >= 0) line = line.slice(0, nul);
      if (line === '') {
        const message: AmiMessage = { headers: this.headers };
        if (this.hdrLoss) {
          out.push({ kind: 'error', message, error: TOO_MANY_LINES });
        } else if (this.lineTooLong) {
          out.push({ kind: 'error', message, error: LINE_TOO_LONG });
          this.lineTooLong = false;
        } else {
          out.push({ kind: 'message', message });
        }
        this.headers = [];
        this.hdrLoss = false;
      } else if (this.headers.length < MAX_HEADERS) {
        this.headers.push(line);
      } else {
        this.hdrLoss = true;
      }
    }
  }
}

/**
 * __astman_get_header(): case-insensitive name immediately followed by ':'; leading bytes < 33 of the value are
 * skipped, trailing ones kept; first match (or last, or first non-empty). '' when absent.
 */
export function getHeader(m: AmiMessage, name: string, mode: 'first' | 'last' | 'skipEmpty' = 'first'): string {
  const lname = asciiLower(name);
  let result = '';
  for (const h of m.headers) {
    if (h.length > name.length && h[name.length] === ':' && asciiLower(h.slice(0, name.length)) === lname) {
      const value = astSkipBlanks(h.slice(name.length + 1));
      if (mode === 'skipEmpty' && value === '') continue;
      if (mode === 'last') result = value;
      else return value;
    }
  }
  return result;
}

/** Builder for output in manager.c's exact shape (CRLF everywhere). */
export class Reply {
  private text = '';

  /** astman_send_response_full(): Response, ActionID (if non-empty), EventList, Message; optional terminator. */
  static response(m: AmiMessage, resp: string, msg: string | null, opts: { listflag?: string; moreData?: boolean } = {}): Reply {
    const r = new Reply();
    r.line('Response', resp);
    const id = getHeader(m, 'ActionID');
    if (id) r.line('ActionID', id);
    if (opts.listflag) r.line('EventList', opts.listflag);
    if (!opts.moreData) {
      if (msg !== null) r.line('Message', msg);
      r.end();
    }
    return r;
  }

  static error(m: AmiMessage, msg: string): Reply {
    return Reply.response(m, 'Error', msg);
  }

  static ack(m: AmiMessage, msg: string | null): Reply {
    return Reply.response(m, 'Success', msg);
  }

  /** astman_start_ack(): "Response: Success" + ActionID, message body follows. */
  static startAck(m: AmiMessage): Reply {
    return Reply.response(m, 'Success', null, { moreData: true });
  }

  static listAck(m: AmiMessage, msg: string): Reply {
    return Reply.response(m, 'Success', msg, { listflag: 'start' });
  }

  line(name: string, value: string | number): this {
    this.text += `${name}: ${value}\r\n`;
    return this;
  }

  raw(text: string): this {
    this.text += text;
    return this;
  }

  end(): this {
    this.text += '\r\n';
    return this;
  }

  /** A list item event: Event, ActionID (if any), then the caller's fields. */
  event(m: AmiMessage, name: string, fields: Array<[string, string | number]>): this {
    this.line('Event', name);
    const id = getHeader(m, 'ActionID');
    if (id) this.line('ActionID', id);
    for (const [k, v] of fields) this.line(k, v);
    return this.end();
  }

  /** astman_send_list_complete_start() + _end(), with optional extra headers before the blank line. */
  listComplete(m: AmiMessage, name: string, count: number, extra: Array<[string, string | number]> = []): this {
    this.line('Event', name);
    const id = getHeader(m, 'ActionID');
    if (id) this.line('ActionID', id);
    this.line('EventList', 'Complete');
    this.line('ListItems', count);
    for (const [k, v] of extra) this.line(k, v);
    return this.end();
  }

  toString(): string {
    return this.text;
  }
}
