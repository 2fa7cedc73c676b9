#!/usr/bin/env node
// Launcher for the `infrasec` bin: runs the compiled CLI (dist/, from `npm run build`); in a development checkout whose
// dist/ is missing or older than src/, runs src/ through tsx instead, so a stale build is never run silently.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const compiled = join(root, 'dist', 'cli.js');
const sources = join(root, 'src');

/** Newest modification time of the .ts files under `dir` (0 when there is no such directory). */
function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(join(entry.parentPath ?? entry.path, entry.name)).mtimeMs);
  }
  return newest;
}

/** Where tsx is, when the dev dependencies are installed; undefined in a production install. */
async function tsxLoader() {
  try {
    return await import('tsx/esm/api');
  } catch {
    return undefined;
  }
}

const hasSources = existsSync(sources);
const built = existsSync(compiled);
const fresh = built && (!hasSources || statSync(compiled).mtimeMs >= newestSource(sources));

let entry = compiled;
if (!fresh) {
  const tsx = hasSources ? await tsxLoader() : undefined;
  if (tsx) {
    tsx.register();
    entry = join(sources, 'cli.ts');
  } else {
    process.stderr.write(
      `infrasec: ${built ? 'dist/ is older than src/' : 'dist/ is missing'} in ${root}; run \`npm run build\` there (it needs the dev dependencies: \`npm ci\`)\n`,
    );
    process.exit(1);
  }
}
const { main } = await import(pathToFileURL(entry).href);
process.exitCode = await main(process.argv.slice(2));
