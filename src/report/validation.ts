// Renders the result of `infrasec validate` as text, JSON, GitHub workflow annotations or a GitLab Code Quality report.
import { createHash } from 'node:crypto';
import { formatDiagnostic, formatGithubAnnotation, quoteFileName, type Diagnostic } from '../desired/diagnostic.ts';
import type { Kind } from '../desired/model.ts';

export type ValidationFormat = 'text' | 'json' | 'github' | 'gitlab';

export interface ValidationReport {
  readonly root: string;
  readonly files: readonly string[];
  readonly diagnostics: readonly Diagnostic[];
  readonly counts?: Readonly<Record<Kind, number>>;
}

const PLURAL: Record<Kind, string> = {
  User: 'users', Group: 'groups', Extension: 'extensions', Conference: 'conferences', VpnProfile: 'VPN profiles',
  FirewallAlias: 'firewall aliases', FirewallRule: 'firewall rules', PortForward: 'port forwards', MailDomain: 'mail domains', MailAlias: 'mail aliases',
};

export function summarizeCounts(counts: Readonly<Record<Kind, number>>): string {
  return (Object.keys(PLURAL) as Kind[]).map((k) => `${counts[k]} ${PLURAL[k]}`).join(', ');
}

/**
 * One issue of GitLab's Code Quality report (artifacts:reports:codequality), which a merge request shows on the
 * lines it names. The fingerprint identifies the finding across pipelines (same file, line, field, code and message).
 */
function codeQualityIssue(d: Diagnostic, root: string) {
  const path = [root.replace(/^\.\/+/, '').replace(/\/+$/, ''), d.file].filter(Boolean).join('/');
  const description = d.path ? `${d.path}: ${d.message}` : d.message;
  return {
    description,
    check_name: d.code,
    fingerprint: createHash('sha256').update(`${path}\u0000${d.line}\u0000${d.path}\u0000${d.code}\u0000${d.message}`).digest('hex'),
    severity: d.severity === 'warning' ? 'minor' : 'major',
    location: { path, lines: { begin: Math.max(1, d.line) } },
  };
}

export function renderValidation(report: ValidationReport, format: ValidationFormat): string {
  const errors = report.diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = report.diagnostics.length - errors;
  switch (format) {
    case 'json':
      return JSON.stringify({ valid: errors === 0, root: report.root, files: report.files.length, errors, warnings, counts: report.counts ?? null, diagnostics: report.diagnostics }, null, 2);
    case 'gitlab':
      return JSON.stringify(report.diagnostics.map((d) => codeQualityIssue(d, report.root)), null, 2);
    case 'github': {
      const lines = report.diagnostics.map((d) => formatGithubAnnotation(d, report.root));
      lines.push(errors === 0 ? `${report.root}: valid (${report.files.length} files)` : `${report.root}: ${errors} error(s) in ${report.files.length} files`);
      return lines.join('\n');
    }
    case 'text': {
      const lines = report.diagnostics.map(formatDiagnostic);
      if (errors === 0 && report.counts) {
        lines.push(`${quoteFileName(report.root)}: valid — ${report.files.length} files: ${summarizeCounts(report.counts)}${warnings ? `; ${warnings} warning(s)` : ''}`);
      } else {
        lines.push(`${quoteFileName(report.root)}: invalid — ${errors} error(s)${warnings ? `, ${warnings} warning(s)` : ''} in ${report.files.length} files`);
      }
      return lines.join('\n');
    }
  }
}

/** `validate --format json` when its command line was refused: the same keys, not valid, the error instead of findings. */
export function renderValidationFailure(error: { readonly code: string; readonly message: string }): string {
  return JSON.stringify({ valid: false, root: null, files: 0, errors: 1, warnings: 0, counts: null, diagnostics: [], error }, null, 2);
}
