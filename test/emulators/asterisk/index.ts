// Public entry point of the Asterisk AMI emulator used by tests and demos.
export { startAmiEmulator } from './server.js';
export type { AmiEmulator, AmiEmulatorOptions, AmiStats, LoadedCategory } from './server.js';
export type { AmiUser } from './action-types.js';
