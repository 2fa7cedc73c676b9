// Session actions: Login (plain and MD5), Challenge, Logoff, Ping, Events.
import { createHash, randomInt } from 'node:crypto';
import type { ActionContext, ActionDefinition, AmiUser } from './action-types.js';
import { strcaseeq } from './c-strings.js';
import { EVENT_FLAG, authorityToStr, getPerm, stringsToMask } from './permissions.js';
import { Reply, getHeader, type AmiMessage } from './protocol.js';

/** "%FT%T.%3q%z" in local time, e.g. 2026-11-22T19:03:08.292+0000 (security event timestamps). */
export function eventTv(d: Date): string {
  const p = (n: number, w = 2) => String(Math.abs(n)).padStart(w, '0');
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  return (
    `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}` +
    `.${p(d.getMilliseconds(), 3)}${sign}${p(Math.floor(Math.abs(off) / 60))}${p(Math.abs(off) % 60)}`
  );
}

function findUser(users: readonly AmiUser[], name: string): AmiUser | undefined {
  return users.find((u) => strcaseeq(u.username, name));
}

/** authenticate() in manager.c. True on success (session updated, SuccessfulAuth published). */
function authenticate(ctx: ActionContext, m: AmiMessage): boolean {
  const username = getHeader(m, 'Username');
  const password = getHeader(m, 'Secret');
  if (!username) return false;
  const user = findUser(ctx.server.users, username);
  if (!user) return false;
  const s = ctx.session;
  if (strcaseeq(getHeader(m, 'AuthType'), 'MD5')) {
    const key = getHeader(m, 'Key');
    if (!key || !s.challenge) return false;
    const expected = createHash('md5')
      .update(Buffer.from(s.challenge + user.secret, 'latin1'))
      .digest('hex');
    if (expected !== key) return false;
  } else if (password !== user.secret) {
    return false;
  }
  s.username = username;
  s.readperm = getPerm(user.read.join(','));
  s.writeperm = getPerm(user.write.join(','));
  s.authenticatedAt = new Date();
  const mask = stringsToMask(getHeader(m, 'Events'));
  if (mask >= 0) s.sendEvents = mask;
  const started = s.authenticatedAt;
  ctx.server.publish(EVENT_FLAG.security, 'SuccessfulAuth', [
    ['EventTV', eventTv(new Date())],
    ['Severity', 'Informational'],
    ['Service', 'AMI'],
    ['EventVersion', 1],
    ['AccountID', username],
    ['SessionID', s.id],
    ['LocalAddress', `IPV4/TCP/${ctx.server.localAddress}/${ctx.server.localPort}`],
    ['RemoteAddress', `IPV4/TCP/${s.remoteAddress}/${s.remotePort}`],
    // Asterisk reports 0 here even after a password login.
    ['UsingPassword', 0],
    ['SessionTV', eventTv(started)],
  ]);
  return true;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export const sessionActions: ActionDefinition[] = [
  {
    name: 'Login',
    authority: 0,
    async handler(ctx, m) {
      const s = ctx.session;
      if (s.authenticated) {
        ctx.write(Reply.ack(m, 'Already authenticated').toString());
        return;
      }
      if (!authenticate(ctx, m)) {
        await sleep(ctx.server.authFailDelayMs);
        ctx.write(Reply.error(m, 'Authentication failed').toString());
        return 'close';
      }
      s.authenticated = true;
      ctx.write(Reply.ack(m, 'Authentication accepted').toString());
      if (s.sendEvents & EVENT_FLAG.system && s.readperm & EVENT_FLAG.system) {
        const rt = ctx.server.runtime;
        const now = Date.now();
        const r = new Reply()
          .line('Event', 'FullyBooted')
          .line('Privilege', authorityToStr(EVENT_FLAG.system))
          .line('Uptime', Math.floor((now - rt.startTime) / 1000))
          .line('LastReload', Math.floor((now - rt.lastReloadTime) / 1000))
          .line('Status', 'Fully Booted')
          .end();
        ctx.write(r.toString());
      }
    },
  },
  {
    name: 'Logoff',
    authority: 0,
    handler(ctx, m) {
      ctx.write(Reply.response(m, 'Goodbye', 'Thanks for all the fish.').toString());
      return 'close';
    },
  },
  {
    name: 'Challenge',
    authority: 0,
    handler(ctx, m) {
      if (!strcaseeq(getHeader(m, 'AuthType'), 'MD5')) {
        ctx.write(Reply.error(m, 'Must specify AuthType').toString());
        return;
      }
      if (!ctx.session.challenge) ctx.session.challenge = String(randomInt(0, 0x7fffffff));
      ctx.write(Reply.startAck(m).line('Challenge', ctx.session.challenge).end().toString());
    },
  },
  {
    name: 'Ping',
    authority: 0,
    handler(ctx, m) {
      const wall = Date.now();
      const usec = (wall % 1000) * 1000 + Number((process.hrtime.bigint() / 1000n) % 1000n);
      const r = Reply.startAck(m)
        .line('Ping', 'Pong')
        .line('Timestamp', `${Math.floor(wall / 1000)}.${String(usec).padStart(6, '0')}`)
        .end();
      ctx.write(r.toString());
    },
  },
  {
    name: 'Events',
    authority: 0,
    handler(ctx, m) {
      const mask = stringsToMask(getHeader(m, 'EventMask'));
      if (mask >= 0) ctx.session.sendEvents = mask;
      if (mask > 0) ctx.write(Reply.startAck(m).line('Events', 'On').end().toString());
      else if (mask === 0) ctx.write(Reply.startAck(m).line('Events', 'Off').end().toString());
      else ctx.write(Reply.error(m, 'Invalid event mask').toString());
    },
  },
];
