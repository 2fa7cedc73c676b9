// The table of AMI actions the emulator answers, looked up case-insensitively by name.
import type { ActionDefinition } from './action-types.js';
import { configActions } from './actions-config.js';
import { dialplanActions } from './actions-dialplan.js';
import { moduleActions } from './actions-modules.js';
import { sessionActions } from './actions-session.js';
import { asciiLower } from './c-strings.js';

export const allActions: readonly ActionDefinition[] = [...sessionActions, ...configActions, ...moduleActions, ...dialplanActions];

export const actionsByName: ReadonlyMap<string, ActionDefinition> = new Map(allActions.map((a) => [asciiLower(a.name), a]));
