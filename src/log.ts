// The pino logger: JSON lines, a stable `event` on each, secret-bearing paths redacted (the list comes from the schemas).
import { pino, type DestinationStream, type Logger } from 'pino';
import { sensitivePaths } from './desired/schema.ts';

/** Paths in log objects that may carry secrets: connection passwords plus every schema field marked x-sensitive. */
export function redactPaths(): string[] {
  const fromSchema = new Set<string>();
  for (const paths of sensitivePaths().values()) for (const p of paths) fromSchema.add(p.split('.').pop()!);
  const fields = [...fromSchema, 'bindPassword', 'secret', 'unicodePwd', 'password', 'token', 'authorization', 'webhookSecret'];
  return [...new Set(fields)].flatMap((f) => [f, `*.${f}`, `*.*.${f}`]);
}

export function createLogger(opts: { level?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  return pino(
    { level: opts.level ?? process.env['INFRASEC_LOG_LEVEL'] ?? 'info', redact: { paths: redactPaths(), censor: '(sensitive)' }, base: { service: 'infrasec' } },
    (opts.destination ?? process.stderr) as DestinationStream,
  );
}

/** A logger that writes nothing, for library use and tests that don't look at logs. */
export const silentLogger: Logger = pino({ level: 'silent' });
