// Public entry of the pfSense (pfRest v2) emulator for tests and the demo.
export { startPfSenseEmulator, PfSenseEmulator, ADMIN_PASSWORD, guessType } from './server.js';
export type { PfSenseEmulatorOptions, EmulatorStats, RequestInfo, RequestFate } from './server.js';
export { seedScenario, seedInterfaces, SEED_INTERFACES, SEED_NAMES } from './seed.js';
export type { FirewallQuirks } from './models-firewall.js';
export type { Obj } from './state.js';
