// Directory mode end to end with the real loader: the controller follows a local desired-state copy through chokidar; revision = content digest.
import { cpSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config.ts';
import type { ResolvedState } from '../../src/desired/model.ts';
import { Controller } from '../../src/controller/controller.ts';
import type { AnyReconciler } from '../../src/engine/systems.ts';
import type { Plan, Policy } from '../../src/engine/types.ts';
import { silentLogger } from '../../src/log.ts';
import { AuditLog } from '../../src/report/audit.ts';
import { ControllerMetrics } from '../../src/server/metrics.ts';
import { DirectorySource } from '../../src/sources/directory.ts';
import { REPO_ROOT } from './ad-fixture.ts';
import { eventually, FakeSystem } from './fakes.ts';
import { initStateDir } from '../../src/state/generator-key.ts';

/** Plans each desired user's title against a live name → title map. */
class TitleSystem extends FakeSystem {
  override plan(desired: ResolvedState, live: Map<string, string>, policy: Policy): Plan {
    const titles = new Map([...desired.resources.users].map(([name, u]) => [name, u.spec.title ?? '']));
    return super.plan({ ...desired, resources: { ...desired.resources, users: titles as never } }, live, policy);
  }
}

let dir: string;
let c: Controller | undefined;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'infrasec-dirmode-'));
  cpSync(join(REPO_ROOT, 'desired-state'), join(dir, 'desired'), { recursive: true });
  await initStateDir(join(dir, 'state'));
});
afterEach(async () => {
  await c?.stop();
  c = undefined;
  await rm(dir, { recursive: true, force: true });
});

describe('directory mode', () => {
  it('applies the directory, then a saved edit, without any commit', async () => {
    const config = configSchema.parse({
      stateDir: join(dir, 'state'),
      systems: { 'active-directory': { url: 'ldaps://127.0.0.1', bindDN: 'CN=x', bindPassword: 'x', baseDN: 'DC=x' } },
      controller: { directory: join(dir, 'desired'), pollIntervalSeconds: 3600, driftIntervalSeconds: 3600 },
    });
    const ad = new TitleSystem('active-directory');
    c = new Controller({
      config, source: new DirectorySource({ directory: join(dir, 'desired'), workDir: join(dir, 'state', 'source'), debounceMs: 50 }),
      reconcilers: new Map([['active-directory', ad as unknown as AnyReconciler]]), skipped: [],
      audit: await AuditLog.open(config.stateDir), metrics: new ControllerMetrics({ processMetrics: false }), logger: silentLogger,
    });
    await c.start();
    const first = await eventually(() => c!.status.snapshot().systems[0]!.appliedRevision, 20_000, 'first apply');
    expect(first).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(ad.live.get('pschmitt')).toBe('Directeur adjoint');

    const file = join(dir, 'desired', 'users', 'direction.yaml');
    await new Promise((r) => setTimeout(r, 300)); // let chokidar finish its initial scan
    await writeFile(file, (await readFile(file, 'utf8')).replace('title: Directeur adjoint', 'title: Adjoint'));
    await eventually(() => ad.live.get('pschmitt') === 'Adjoint', 20_000, 'edit applied via the watcher');
    await eventually(() => c!.status.snapshot().systems[0]!.appliedRevision !== first, 10_000, 'new digest recorded');
    expect(c.status.snapshot().source.desiredRevision).toMatch(/^sha256:/);
  });
});
