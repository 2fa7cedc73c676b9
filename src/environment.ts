// Reads INFRASEC_* variables into settings shaped like infrasec.yaml, converting each by the zod type of its field; refuses spellings it does not understand.
import { z } from 'zod';

type Env = Readonly<Record<string, string | undefined>>;

/** The only spellings a boolean variable accepts (case-insensitive, no surrounding spaces). */
export const BOOLEAN_SPELLINGS = { true: ['true', 'yes', 'on', '1'], false: ['false', 'no', 'off', '0'] } as const;

export interface EnvReading {
  /** Settings found, nested by path (`git.url` → `{ git: { url } }`). */
  readonly value: Record<string, unknown>;
  /** One line per variable that could not be read, naming the variable, the setting and what it accepts. */
  readonly problems: readonly string[];
}

/** The schema at a dotted path below `schema`, with optional/default/nullable wrappers removed. */
export function fieldSchema(schema: z.ZodType, path: string): z.ZodType | undefined {
  let at: z.ZodType | undefined = schema;
  for (const key of path.split('.')) {
    at = unwrap(at);
    if (!(at instanceof z.ZodObject)) return undefined;
    at = (at.shape as Record<string, z.ZodType>)[key];
    if (!at) return undefined;
  }
  return at ? unwrap(at) : undefined;
}

function unwrap(s: z.ZodType): z.ZodType {
  let at = s;
  for (let i = 0; i < 8 && (at instanceof z.ZodOptional || at instanceof z.ZodDefault || at instanceof z.ZodNullable); i++) {
    at = at.unwrap() as z.ZodType;
  }
  return at;
}

type Converted = { ok: true; value: unknown } | { ok: false; accepts: string };

/** Converts one variable by its field's type. Strings pass through; anything else must be spelled exactly. */
export function convertEnvValue(field: z.ZodType | undefined, raw: string): Converted {
  if (field instanceof z.ZodBoolean) {
    const v = raw.toLowerCase();
    if ((BOOLEAN_SPELLINGS.true as readonly string[]).includes(v)) return { ok: true, value: true };
    if ((BOOLEAN_SPELLINGS.false as readonly string[]).includes(v)) return { ok: true, value: false };
    return { ok: false, accepts: `a boolean: ${[...BOOLEAN_SPELLINGS.true, ...BOOLEAN_SPELLINGS.false].join(', ')}` };
  }
  if (field instanceof z.ZodNumber) {
    if (/^-?(\d+(\.\d*)?|\.\d+)$/.test(raw)) return { ok: true, value: Number(raw) };
    return { ok: false, accepts: 'a number' };
  }
  if (field instanceof z.ZodEnum) {
    const options = field.options.map(String);
    if (options.includes(raw)) return { ok: true, value: raw };
    return { ok: false, accepts: `one of ${options.join(', ')}` };
  }
  return { ok: true, value: raw };
}

/**
 * Reads every variable of `map` (setting path below `schema` → variable name). An unset or empty variable means
 * "not set here". `prefix` places the result in the whole configuration (e.g. `systems.NAME`) for messages.
 */
export function settingsFromEnv(schema: z.ZodType, map: Readonly<Record<string, string>>, env: Env, prefix = ''): EnvReading {
  const value: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [path, name] of Object.entries(map)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const converted = convertEnvValue(fieldSchema(schema, path), raw);
    const setting = prefix ? `${prefix}.${path}` : path;
    if (!converted.ok) {
      // Only booleans, numbers and enums can fail, never a secret: the value is quoted so a stray space shows.
      problems.push(`${name} (${setting}): ${JSON.stringify(raw.slice(0, 40))} is not understood; accepted: ${converted.accepts}`);
      continue;
    }
    setPath(value, path.split('.'), converted.value);
  }
  return { value, problems };
}

function setPath(target: Record<string, unknown>, keys: readonly string[], v: unknown): void {
  let at = target;
  for (const key of keys.slice(0, -1)) {
    const next = at[key];
    at = (typeof next === 'object' && next !== null ? next : (at[key] = {})) as Record<string, unknown>;
  }
  at[keys[keys.length - 1] as string] = v;
}
