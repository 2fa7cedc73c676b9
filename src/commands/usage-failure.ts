// Pure: the document plan, apply, drift and validate print on stdout when commander refuses their command line (unknown option, missing value), so `--format json` still yields JSON.
import type { PassMode } from '../engine/pass.ts';
import { renderFailure, type ReportFormat } from '../report/plan.ts';
import { renderValidationFailure } from '../report/validation.ts';

const MODES: readonly string[] = ['plan', 'apply', 'drift'] satisfies PassMode[];
const DOCUMENT_FORMATS: readonly string[] = ['json', 'markdown'] satisfies ReportFormat[];

/**
 * The command and the document format a command line asks for, read from the words themselves because commander
 * stopped before it could parse them: the first word names the command, the last `--format`/`-f` wins (as in
 * commander), nothing after `--` is an option. Undefined when the command is not plan/apply/drift or the format is text.
 */
export function requestedDocument(argv: readonly string[]): { mode: PassMode; format: 'json' | 'markdown' } | undefined {
  const mode = argv.find((arg) => !arg.startsWith('-'));
  if (mode === undefined || !MODES.includes(mode)) return undefined;
  const format = requestedFormat(argv);
  if (format === undefined || !DOCUMENT_FORMATS.includes(format)) return undefined;
  return { mode: mode as PassMode, format: format as 'json' | 'markdown' };
}

/** The last `--format`/`-f` value of a command line, as commander would take it; undefined when there is none. */
function requestedFormat(argv: readonly string[]): string | undefined {
  let format: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') break;
    if (arg === '--format' || arg === '-f') format = argv[++i];
    else if (arg.startsWith('--format=')) format = arg.slice('--format='.length);
    else if (/^-f[^-]/.test(arg)) format = arg.slice(2);
  }
  return format;
}

/** The failure document for a refused command line (`error.code` `usage`), or undefined when none was asked for. */
export function usageFailureDocument(argv: readonly string[], commanderMessage: string): string | undefined {
  // commander says "error: unknown option '--bogus'"; the document's summary adds its own "FAILED:".
  const message = commanderMessage.replace(/^error:\s*/, '').trim();
  if (argv.find((arg) => !arg.startsWith('-')) === 'validate') {
    return requestedFormat(argv) === 'json' ? renderValidationFailure({ code: 'usage', message }) : undefined;
  }
  const wanted = requestedDocument(argv);
  if (!wanted) return undefined;
  return renderFailure({ mode: wanted.mode, error: { code: 'usage', message }, diagnostics: [] }, wanted.format);
}
