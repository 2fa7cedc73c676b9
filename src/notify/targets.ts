// The notification targets the configuration names (notifyUrl, notifyWebhooks, notifyEmail), built once at start with their secret files read; a file's content never reaches a message.
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { ConfigError } from '../errors.ts';
import { FanOutNotifier } from './fan-out.ts';
import type { WebhookFormat } from './formats.ts';
import { plainHttpWarning } from './plain-http.ts';
import type { Notification, Notifier } from './notification.ts';
import { WebhookNotifier } from './webhook.ts';

export interface TargetDeps {
  readonly logger: Logger;
  /** Called once per notification a target could not deliver. */
  readonly onFailure?: (n: Notification) => void;
}

/**
 * Every configured target behind one Notifier; undefined when none is configured. A chat webhook, or a signed one, on
 * plain http:// to another host is logged as a warning (`notify.plain_http`) and still used: an internal chat server
 * without TLS is common, and refusing it would silence every notification.
 */
export async function buildNotifier(c: Config['controller'], deps: TargetDeps): Promise<Notifier | undefined> {
  const targets: Notifier[] = [];
  const webhook = (url: string, format: WebhookFormat, secret: string | undefined, setting: string) => {
    const warning = plainHttpWarning({ url, format, signed: secret !== undefined, setting });
    if (warning) deps.logger.warn({ event: 'notify.plain_http', setting, target: new URL(url).origin, format }, warning);
    return new WebhookNotifier({ url, format, secret, ...deps });
  };
  if (c.notifyUrl) {
    targets.push(webhook(c.notifyUrl, c.notifyFormat, await secretOf(c.notifySecret, c.notifySecretFile, 'controller.notifySecretFile'), 'controller.notifyUrl (INFRASEC_NOTIFY_URL)'));
  } else if (c.notifySecret || c.notifySecretFile) {
    throw new ConfigError('controller.notifySecret(File) signs the posts to controller.notifyUrl, which is not set (INFRASEC_NOTIFY_URL)');
  }
  for (const [i, w] of c.notifyWebhooks.entries()) {
    const at = `controller.notifyWebhooks[${i}]`;
    const url = w.url ?? (await urlFromFile(w.urlFile!, `${at}.urlFile`));
    targets.push(webhook(url, w.format, await secretOf(w.secret, w.secretFile, `${at}.secretFile`), w.url ? `${at}.url` : `${at}.urlFile`));
  }
  const e = c.notifyEmail;
  if (e) {
    const password = await secretOf(e.password, e.passwordFile, 'controller.notifyEmail.passwordFile');
    if ((e.username === undefined) !== (password === undefined)) {
      throw new ConfigError('controller.notifyEmail: set both username and password (or passwordFile), or neither for a relay that takes mail without logging in');
    }
    const ca = e.caFile ? await readSetting(e.caFile, 'controller.notifyEmail.caFile') : undefined;
    // nodemailer is loaded only when e-mail is configured.
    const { EmailNotifier } = await import('./email.ts');
    targets.push(new EmailNotifier({ url: e.url, from: e.from, to: e.to, username: e.username, password, ca, ...deps }));
  }
  if (targets.length === 0) return undefined;
  return targets.length === 1 ? targets[0] : new FanOutNotifier(targets);
}

async function secretOf(value: string | undefined, file: string | undefined, setting: string): Promise<string | undefined> {
  if (value) return value;
  if (!file) return undefined;
  const v = (await readSetting(file, setting)).trim();
  if (!v) throw new ConfigError(`${setting} ${file} is empty`, { file });
  return v;
}

async function urlFromFile(file: string, setting: string): Promise<string> {
  const v = (await readSetting(file, setting)).trim();
  let ok = false;
  try {
    ok = ['http:', 'https:'].includes(new URL(v).protocol);
  } catch {
    ok = false;
  }
  // The content is never quoted: it holds the webhook's token.
  if (!ok) throw new ConfigError(`${setting} ${file} does not hold an http(s) URL`, { file });
  return v;
}

async function readSetting(file: string, setting: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read ${setting} ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`, { file }, { cause: err });
  }
}
