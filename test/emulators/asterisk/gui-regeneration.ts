// An emulated PBX GUI (Issabel/FreePBX) "Apply Config": the files it generates are written again from its own
// database (captured when the emulator starts) and voicemail.conf goes through the GUI's voicemail writer.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { rewriteVoicemailConf } from './gui-voicemail.js';

export class GuiRegeneration {
  private readonly snapshot = new Map<string, Buffer>();

  /** `generated`: config-dir relative names of the files the GUI owns and rewrites whole (pjsip.conf, extensions_additional.conf...). */
  constructor(
    private readonly configDir: string,
    generated: readonly string[],
  ) {
    for (const f of generated) {
      const abs = path.join(configDir, f);
      if (fs.existsSync(abs)) this.snapshot.set(f, fs.readFileSync(abs));
    }
  }

  /** Rewrites the generated files and voicemail.conf; returns the names written. The caller reloads, as the GUI does. */
  run(): string[] {
    const written: string[] = [];
    for (const [f, bytes] of this.snapshot) {
      fs.writeFileSync(path.join(this.configDir, f), bytes);
      written.push(f);
    }
    if (fs.existsSync(path.join(this.configDir, 'voicemail.conf'))) {
      rewriteVoicemailConf(this.configDir);
      written.push('voicemail.conf');
    }
    return written;
  }
}
