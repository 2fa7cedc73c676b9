import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { environmentVariables } from '../../src/config.ts';
import { fieldSchema } from '../../src/environment.ts';
import { SYSTEM_MODULES } from '../../src/reconcilers/registry.ts';

/** Every leaf setting of an object schema, as dotted paths. */
function leaves(schema: z.ZodType, prefix = ''): string[] {
  const at = fieldSchema(z.object({ x: schema }), 'x');
  if (!(at instanceof z.ZodObject)) return [prefix];
  return Object.entries(at.shape as Record<string, z.ZodType>).flatMap(([k, v]) => leaves(v, prefix ? `${prefix}.${k}` : k));
}

describe('the system registry', () => {
  it('lists each system once', () => {
    const names = SYSTEM_MODULES.map((m) => m.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it.each(SYSTEM_MODULES.map((m) => [m.name, m] as const))('%s: every setting has an environment variable that names an existing setting', (_, m) => {
    expect(leaves(m.settings).sort()).toEqual(Object.keys(m.env).sort());
  });

  it('gives every variable one setting', () => {
    const names = environmentVariables().map(([name]) => name);
    expect(new Set(names).size).toBe(names.length);
    expect(names.every((n) => /^INFRASEC_[A-Z0-9_]+$/.test(n))).toBe(true);
  });

  it.each(SYSTEM_MODULES.map((m) => [m.name, m] as const))('%s: its secrets name settings of its schema', (_, m) => {
    for (const s of m.secrets ?? []) {
      expect(fieldSchema(m.settings, s.value)).toBeDefined();
      expect(fieldSchema(m.settings, s.file)).toBeDefined();
    }
  });
});
