// Serialized, atomic writes of the controller's files (controller-state.json, the drift report); a failed write is reported, never thrown.
import type { DriftReport } from '../report/drift.ts';
import { renderDriftHtml, renderDriftJson, renderDriftMarkdown } from '../report/drift.ts';
import { writeFileAtomic } from '../state/state-file.ts';
import type { PersistedState } from './applied-state.ts';
import type { ControllerPaths } from './paths.ts';

export class StateWriter {
  private writes: Promise<void> = Promise.resolve();

  constructor(
    private readonly paths: ControllerPaths,
    /** Called with the file and the error when a write fails (the controller logs it and shows it in status). */
    private readonly onFailure: (what: string, err: Error) => void,
  ) {}

  controllerState(state: PersistedState): void {
    this.queue('state', () => writeFileAtomic(this.paths.state, `${JSON.stringify(state, null, 2)}\n`));
  }

  driftReport(report: DriftReport): void {
    this.queue('drift', async () => {
      await writeFileAtomic(this.paths.driftJson, renderDriftJson(report), 0o640);
      await writeFileAtomic(this.paths.driftMarkdown, renderDriftMarkdown(report), 0o640);
      await writeFileAtomic(this.paths.driftHtml, renderDriftHtml(report), 0o640);
    });
  }

  /** Resolves once every queued write has been attempted. */
  flush(): Promise<void> {
    return this.writes;
  }

  private queue(what: string, write: () => Promise<void>): void {
    this.writes = this.writes.then(write).catch((err) => this.onFailure(what, err as Error));
  }
}
