// The controller's instance name: which of several controllers sharing a system an ownership marker names.
import { z } from 'zod';

/** The instance of a controller whose configuration names none (infrasec.yaml `instance`, INFRASEC_INSTANCE). */
export const DEFAULT_INSTANCE = 'default';

const INSTANCE_NAME = /^[A-Za-z0-9_.-]{1,40}$/;

/** An instance name as infrasec.yaml and the environment give it: written into every system's ownership marker. */
export const instanceNameSchema = z.string().regex(INSTANCE_NAME, 'letters, digits, _ . - only (1 to 40)');

export function isInstanceName(name: string): boolean {
  return INSTANCE_NAME.test(name);
}
