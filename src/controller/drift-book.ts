// The controller's drift report: restored at start, updated after every pass, and what was newly found in a pass.
import type { Logger } from 'pino';
import type { Policy, SystemName } from '../engine/types.ts';
import type { PassResult } from '../engine/pass.ts';
import { clearOpenDrift, EMPTY_DRIFT_REPORT, openDrift, updateDriftReport, type DriftReport } from '../report/drift.ts';
import { DRIFT_REPORT_CHECK } from '../state/state-catalog.ts';
import { readDerivedFile } from '../state/state-file.ts';

export type DriftEntry = ReturnType<typeof openDrift>[number];

export interface DriftUpdate {
  /** The report changed and should be written. */
  readonly changed: boolean;
  /** Objects of this system still drifted. */
  readonly open: number;
  /** Drift this pass saw that was not already open: someone changed the system by hand. */
  readonly found: readonly DriftEntry[];
}

export class DriftBook {
  private current: DriftReport = EMPTY_DRIFT_REPORT;

  get report(): DriftReport {
    return this.current;
  }

  /** Reads the persisted report; an unusable one is set aside and rebuilt from the next passes. */
  async restore(path: string, log: Logger): Promise<void> {
    const rebuilt = (problem: string, movedTo: string) =>
      log.warn({ event: 'state.file.rebuilt', file: path, problem, movedTo }, 'the drift report was unusable; set aside and rebuilt from the next passes');
    this.current = (await readDerivedFile<DriftReport>(path, DRIFT_REPORT_CHECK, rebuilt)) ?? EMPTY_DRIFT_REPORT;
  }

  /** A drift pass updates the system's entries; a converged apply pass closes them. */
  afterPass(system: SystemName, result: PassResult, policy: Policy, pass: { drift: boolean; converged: boolean }, now: Date): DriftUpdate {
    const before = new Set(openDrift(this.current, system).map((e) => `${e.kind}/${e.name}`));
    if (pass.drift) this.current = updateDriftReport(this.current, result, policy, now);
    else if (pass.converged) this.current = clearOpenDrift(this.current, system, now);
    const report = this.current;
    const found = pass.drift ? report.entries.filter((e) => e.system === system && e.lastSeen === report.generatedAt && !before.has(`${e.kind}/${e.name}`)) : [];
    return { changed: pass.drift || pass.converged, open: openDrift(report, system).length, found };
  }
}
