// Renders the result of `infrasec validate` as text, JSON or GitHub workflow annotations.
import { formatDiagnostic, formatGithubAnnotation, quoteFileName, type Diagnostic } from '../desired/diagnostic.ts';
import type { Kind } from '../desired/model.ts';

export type ValidationFormat = 'text' | 'json' | 'github';

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

export function renderValidation(report: ValidationReport, format: ValidationFormat): string {
  const errors = report.diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = report.diagnostics.length - errors;
  switch (format) {
    case 'json':
      return JSON.stringify({ valid: errors === 0, root: report.root, files: report.files.length, errors, warnings, counts: report.counts ?? null, diagnostics: report.diagnostics }, null, 2);
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
