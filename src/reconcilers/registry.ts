// The systems infrasec knows: one line per system module. Adding a system is its folder plus one line here.
import type { SystemModule } from '../engine/module.ts';
import { activeDirectory } from './active-directory/index.ts';
import { asterisk } from './asterisk/index.ts';
import { modoboa } from './modoboa/index.ts';
import { pfsense } from './pfsense/index.ts';

export const SYSTEM_MODULES: readonly SystemModule[] = [activeDirectory, asterisk, pfsense, modoboa];
