// Dependency graphs between systems (pure) and their configuration: cycles refused with the path, overrides, unconfigured dependencies not waited for.
import { describe, expect, it } from 'vitest';
import { configSchema, dependencyGraph } from '../../src/config.ts';
import { dependentsOf, findCycle, restrictGraph, waitingOn } from '../../src/engine/dependencies.ts';
import { runInDependencyOrder } from '../../src/engine/dependency-order.ts';

describe('dependency graph', () => {
  it('finds a cycle and gives its path; none in a DAG', () => {
    expect(findCycle(new Map([['a', ['b']], ['b', ['c']], ['c', []]]))).toBeUndefined();
    expect(findCycle(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']]]))).toEqual(['a', 'b', 'c', 'a']);
    expect(findCycle(new Map([['a', ['a']]]))).toEqual(['a', 'a']);
  });

  it('waits only for dependencies not converged, and only for those that run here', () => {
    const g = restrictGraph(new Map([['mail', ['directory', 'absent']], ['directory', []]]), new Set(['mail', 'directory']));
    expect(g.get('mail')).toEqual(['directory']);
    expect(waitingOn('mail', g, () => false)).toEqual(['directory']);
    expect(waitingOn('mail', g, (d) => d === 'directory')).toEqual([]);
    expect(dependentsOf('directory', g)).toEqual(['mail']);
  });
});

const AD = { url: 'ldaps://127.0.0.1', bindDN: 'CN=x', bindPassword: 'x', baseDN: 'DC=x' };
const MODOBOA = { url: 'https://127.0.0.1', token: 't' };
const PFSENSE = { url: 'https://127.0.0.1', apiKey: 'k' };

describe('dependsOn in infrasec.yaml', () => {
  it('defaults to what the modules declare, among the configured systems', () => {
    const config = configSchema.parse({ systems: { 'active-directory': AD, modoboa: MODOBOA } });
    expect(dependencyGraph(config).get('modoboa')).toEqual(['active-directory']);
    // Active Directory not managed here: nothing to wait for.
    expect(dependencyGraph(configSchema.parse({ systems: { modoboa: MODOBOA } })).get('modoboa')).toEqual([]);
  });

  it('can be overridden per system', () => {
    const config = configSchema.parse({ systems: { 'active-directory': AD, modoboa: { ...MODOBOA, dependsOn: [] } } });
    expect(dependencyGraph(config).get('modoboa')).toEqual([]);
  });

  it('refuses a cycle as a configuration error naming it', () => {
    const parsed = configSchema.safeParse({ systems: { 'active-directory': { ...AD, dependsOn: ['pfsense'] }, pfsense: PFSENSE } });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toContain('cycle (active-directory → pfsense → active-directory)');
    expect(parsed.error?.issues[0]?.path).toEqual(['systems', 'active-directory', 'dependsOn']);
  });

  it('refuses an unknown system name', () => {
    expect(configSchema.safeParse({ systems: { modoboa: { ...MODOBOA, dependsOn: ['exchange'] } } }).success).toBe(false);
  });
});

describe('runInDependencyOrder (infrasec apply and run --once)', () => {
  const graph = new Map([['mail', ['directory']], ['vpn', ['directory']], ['directory', []]]);

  it('runs a dependent only after its dependency settled, the independent ones concurrently', async () => {
    const events: string[] = [];
    let releaseDirectory!: () => void;
    const directoryDone = new Promise<void>((r) => (releaseDirectory = r));
    const run = async (s: string) => {
      events.push(`start ${s}`);
      if (s === 'directory') await directoryDone;
      events.push(`end ${s}`);
      return { result: `${s} ok`, converged: true };
    };
    const pending = runInDependencyOrder(['mail', 'directory', 'vpn', 'other'], graph, run, () => 'not run');
    await new Promise((r) => setTimeout(r, 10));
    expect(events).toEqual(['start directory', 'start other', 'end other']);
    releaseDirectory();
    expect(await pending).toEqual(['mail ok', 'directory ok', 'vpn ok', 'other ok']);
    expect(events.indexOf('start mail')).toBeGreaterThan(events.indexOf('end directory'));
  });

  it('does not run a dependent whose dependency did not converge, and says which one', async () => {
    const ran: string[] = [];
    const results = await runInDependencyOrder(['mail', 'directory'], graph, async (s) => {
      ran.push(s);
      return { result: `${s} failed`, converged: false };
    }, (s, on) => `${s} not run: waits for ${on.join(', ')}`);
    expect(results).toEqual(['mail not run: waits for directory', 'directory failed']);
    expect(ran).toEqual(['directory']);
  });
});
